"""ENAS's controller for a cell space: an LSTM that picks one op per edge in turn (torch).

As in the NB201 reference (AutoDL-Projects ``models/cell_searchs/search_model_enas_utils.py``):
a learned input, an LSTM of ``lstm_layers`` layers, logits divided by a temperature and
squashed by ``tanh_constant * tanh``, the chosen op's embedding fed to the next step.
Sampling draws from a caller's ``torch.Generator`` (never torch's global one).
"""

from __future__ import annotations

import torch
from torch import nn

from nasbench_suite.oneshot.settings import ControllerSettings


class Controller(nn.Module):
    """Policy over ``n_edges`` choices among ``n_ops`` ops."""

    def __init__(self, n_edges: int, n_ops: int, settings: ControllerSettings):
        super().__init__()
        size = settings.lstm_size
        self.n_edges = n_edges
        self.settings = settings
        self.input_vars = nn.Parameter(torch.empty(1, 1, size))
        self.lstm = nn.LSTM(input_size=size, hidden_size=size, num_layers=settings.lstm_layers)
        self.embedding = nn.Embedding(n_ops, size)
        self.predict = nn.Linear(size, n_ops)
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    def forward(self, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """Sample an architecture: (sum of log-probabilities, sum of entropies, op index per edge)."""
        inputs, state = self.input_vars, None
        log_probs, entropies, chosen = [], [], []
        for _ in range(self.n_edges):
            out, state = self.lstm(inputs, state)
            logits = self.settings.tanh_constant * torch.tanh(self.predict(out) / self.settings.temperature)
            logits = logits.view(-1)
            dist = torch.distributions.Categorical(logits=logits)
            index = torch.multinomial(dist.probs.detach(), 1, generator=generator)
            chosen.append(int(index))
            log_probs.append(dist.log_prob(index.view(())))
            entropies.append(dist.entropy())
            inputs = self.embedding(index).view(1, 1, -1)
        return torch.stack(log_probs).sum(), torch.stack(entropies).sum(), chosen
