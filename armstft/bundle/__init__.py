"""The bundle format: the manifest's closed schema, reading + hashing the files once, golden.npz, the
TorchScript and torch.export file checks, and the steps of opening a bundle that need no model.

Why a layer: the format is the contract between host (which writes bundles) and board (which trusts them
only after these checks); both sides import it, it imports only ``core`` and ``audio``, and it never runs a
model (models run in ``sandbox``).
"""
