"""The base layer: errors, input bounds, strict JSON and the STFT config — what every other layer uses.

Why a layer of its own: these modules hold facts (a bound, an error's wording, the config's fields) that the
bundle format, the network, the board commands and the host tools must all read the same way, and they
import nothing of armstft themselves, so any module may import them without forming a circle.
"""
