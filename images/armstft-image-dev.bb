# For the HIL suite and bring-up: the production content plus debugging tools, SFTP for moving
# bundles and root on the serial console. Never ship it: root has an empty password here.
SUMMARY = "armstft development image"
DESCRIPTION = "armstft-image plus debugging tools and what the HIL test suite needs"
HOMEPAGE = "https://github.com/armstft/armstft"
BUGTRACKER = "https://github.com/armstft/armstft/issues"
SECTION = "images"
LICENSE = "MIT"
CVE_PRODUCT = "armstft"

# Yocto's own test loop: `bitbake armstft-image-dev -c testimage` boots the image (runqemu on
# qemuarm64, or TEST_TARGET = "simpleremote" with TEST_TARGET_IP for a board on the desk) and runs
# these oeqa runtime modules; "armstft" is meta-armstft/lib/oeqa/runtime/cases/armstft.py.
IMAGE_CLASSES += "testimage"
TEST_SUITES = "ping ssh python armstft ptest"

inherit core-image armstft_image

IMAGE_FEATURES += "ssh-server-openssh"

# Development only: labgrid's shell driver logs in as root on the serial console without a
# password; over SSH root needs a key.
# nooelint: oelint.var.badimagefeature.tools-debug, oelint.var.badimagefeature.allow-root-login, oelint.var.badimagefeature.empty-root-password, oelint.var.badimagefeature.serial-autologin-root - development image by design, never shipped
IMAGE_FEATURES += "tools-debug allow-root-login empty-root-password serial-autologin-root"
ARMSTFT_PERMIT_ROOT_LOGIN = "prohibit-password"
# The HIL harness logs in as root with a key (harness/envs/*.yaml).
ARMSTFT_KEY_USERS = "${ARMSTFT_USER} root"

IMAGE_INSTALL = "packagegroup-core-boot \
                 ${CORE_IMAGE_EXTRA_INSTALL} \
                 python3-torch \
                 python3-torchaudio \
                 python3-armstft \
                 armstft-model \
                 coreutils \
                 htop \
                 openssh-sftp-server \
                 procps \
                 python3-armstft-ptest \
                 python3-pip \
                 ptest-runner \
                 rsync \
                 util-linux"

IMAGE_LINGUAS = ""
