"""An MNIST-style MLP as the PyTorch quickstart writes one, on random data of MNIST's shape
(28 x 28 grey images, 10 classes), so it runs without a download."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
images, labels = torch.rand(256, 1, 28, 28), torch.randint(0, 10, (256,))
train_dataloader = DataLoader(TensorDataset(images[:192], labels[:192]), batch_size=64, shuffle=True)
test_dataloader = DataLoader(TensorDataset(images[192:], labels[192:]), batch_size=64)

model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)

for epoch in range(2):
    model.train()
    for batch, (X, y) in enumerate(train_dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch % 2 == 0:
            print(f"loss: {loss.item():>7f}  [{(batch + 1) * len(X):>3d}/192]")

    model.eval()
    correct = 0
    with torch.no_grad():
        for X, y in test_dataloader:
            correct += (model(X).argmax(1) == y).type(torch.float).sum().item()
    print(f"epoch {epoch + 1}: loss {loss.item():>7f}, test accuracy {100 * correct / 64:>0.1f}%")
