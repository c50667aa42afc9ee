"""chatrlhf: the InstructGPT recipe end to end (pretrain, SFT, reward model, PPO), small enough for a CPU."""

import torch

# Per thread, and before any parallel op starts worker threads: denormals made a trained model's
# backward pass up to 60x slower on CPU (docs/design.md section 7).
torch.set_flush_denormal(True)

__version__ = "0.1.0"
