"""A classifier written as an nn.Module subclass: three clusters of 2-d points, a log-softmax
output with nn.NLLLoss, AdamW, in float64."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 32)
        self.fc2 = nn.Linear(32, 16)
        self.fc3 = nn.Linear(16, 3)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return F.log_softmax(self.fc3(x), dim=1)


torch.manual_seed(0)
centres = torch.tensor([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]], dtype=torch.float64)
targets = torch.randint(0, 3, (150,))
points = centres[targets] + 0.8 * torch.randn(150, 2, dtype=torch.float64)
loader = DataLoader(TensorDataset(points, targets), batch_size=32, shuffle=True)

model = Net().double()
criterion = nn.NLLLoss()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)

for epoch in range(5):
    model.train()
    running_loss = 0.0
    for inputs, labels in loader:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item() * inputs.size(0)
    model.eval()
    with torch.no_grad():
        accuracy = (model(points).argmax(dim=1) == targets).double().mean().item()
    print(f"epoch {epoch + 1}: loss {running_loss / len(points):.4f}, accuracy {accuracy:.2f}")
