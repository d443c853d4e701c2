# Minimal headless production image for running armstft on the board. No debug-tweaks, no empty or
# fixed passwords; SSH by key only (ARMSTFT_AUTHORIZED_KEYS).
SUMMARY = "armstft production image"
DESCRIPTION = "PyTorch, torchaudio, armstft and the default model on a minimal image"
HOMEPAGE = "https://github.com/armstft/armstft"
BUGTRACKER = "https://github.com/armstft/armstft/issues"
SECTION = "images"
LICENSE = "MIT"
CVE_PRODUCT = "armstft"

inherit core-image armstft_image

IMAGE_FEATURES += "ssh-server-openssh"

IMAGE_INSTALL = "packagegroup-core-boot \
                 ${CORE_IMAGE_EXTRA_INSTALL} \
                 python3-torch \
                 python3-torchaudio \
                 python3-armstft \
                 armstft-model"

IMAGE_LINGUAS = ""

# Issue #19 (minimal image): torch recommends what only torch.compile (jinja2), fsspec storage and C++
# extension builds (setuptools) import; this image has no compiler and runs none of them.
BAD_RECOMMENDATIONS += "python3-fsspec python3-jinja2 python3-setuptools"
