"""The source document's 2-2-1 sigmoid example, as data.

The network, input, target and learning rate, and every number the document prints, kept as
printed: strings keep their digits ("0.210" was printed with three decimals). Keys follow the
worked-example file format: z1 is z^(1), dW2 is dL/dW^(2), W1_new is W^(1) after the update.
The document rounds each intermediate to 3-4 digits and carries the rounded value on, so some
printed numbers differ from the exact ones in the last digit (the loss is printed 0.0208; the
exact value is 0.020920...).
"""

from __future__ import annotations

from manual_bp.network import Network

TITLE = "Backpropagation Algorithm Derivation: 2-2-1 sigmoid example"
X = [0.5, 1.0]
Y = [1.0]
W1 = [[0.4, 0.6], [0.3, 0.5]]
B1 = [0.1, 0.2]
W2 = [[0.7, 0.8]]
B2 = [0.3]
ACTIVATIONS = ("sigmoid", "sigmoid")
LOSS = "half_sse"  # L = 1/2 (y - y_hat)^2
LEARNING_RATE = 0.5

# Every number the document prints for a named quantity, in the order it prints them.
PRINTED: dict[str, object] = {
    "z1": ["0.9", "0.85"],
    "a1": ["0.711", "0.701"],
    "z2": ["1.359"],
    "a2": ["0.796"],  # y_hat
    "L": "0.0208",
    "sigma_prime2": ["0.162"],
    "delta2": ["-0.033"],
    "dW2": [["-0.023", "-0.023"]],
    "db2": ["-0.033"],
    "sigma_prime1": ["0.205", "0.210"],
    "delta1": ["-0.0047", "-0.0055"],
    "dW1": [["-0.0024", "-0.0047"], ["-0.0028", "-0.0055"]],
    "db1": ["-0.0047", "-0.0055"],
    "W2_new": [["0.7115", "0.8115"]],
    "b2_new": ["0.3165"],
    "W1_new": [["0.4012", "0.6024"], ["0.3014", "0.5028"]],
    "b1_new": ["0.1024", "0.2028"],
}

# Partial results the document prints inside its arithmetic, each with what it stands for.
PRINTED_PARTIALS: dict[str, str] = {
    "W2[0,0] * a1[0]": "0.498",
    "W2[0,1] * a1[1]": "0.561",
    "y - a2": "0.204",
    "(y - a2)^2": "0.0416",
}


def document_network() -> Network:
    """The document's 2-2-1 network: W^(1), b^(1), W^(2), b^(2), sigmoid in both layers."""
    return Network([W1, W2], [B1, B2], list(ACTIVATIONS))
