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
