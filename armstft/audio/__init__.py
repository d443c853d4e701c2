"""Audio in: WAV/NumPy clips read and checked, synthetic clips, and the float64 STFT reference.

Why here, just above ``core``: reading a clip needs only the config and its bounds, and both the bundle
format (golden inputs, references) and the host tools (training, export) need audio, so audio sits below
both and imports only ``core``.
"""
