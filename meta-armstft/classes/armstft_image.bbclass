# Common configuration of the armstft images: SD-card wic output with a bmap, SSH by key only, and
# a login user without any password. Nothing here is a secret: keys come from the builder.

inherit extrausers

# wic.bz2 + wic.bmap for `bmaptool copy`; QEMU additionally boots the plain ext4 through runqemu.
IMAGE_FSTYPES = "wic.bz2 wic.bmap"
IMAGE_FSTYPES:append:qemuall = " ext4"
WKS_FILE = "armstft-sdcard.wks"
WKS_FILE:qemuall = "armstft-qemu.wks"

# Login user for SSH, by key only. useradd leaves the password field "!" (locked), and an OpenSSH built
# without PAM (the distro has no pam) refuses locked accounts even with a valid key ("User ... not
# allowed because account is locked"). "*" matches no password at all but does not lock the account,
# so keys work and passwords never do (armstft_key_login_only below).
ARMSTFT_USER ?= "armstft"
EXTRA_USERS_PARAMS = "useradd -m -s /bin/sh ${ARMSTFT_USER};"

# Path (on the build host) of an authorized_keys file, set in local.conf or a kas overlay, installed
# for every user in ARMSTFT_KEY_USERS. Empty means nobody can log in over SSH.
ARMSTFT_AUTHORIZED_KEYS ?= ""
ARMSTFT_KEY_USERS ?= "${ARMSTFT_USER}"
# sshd's PermitRootLogin; the dev image relaxes it to prohibit-password (keys only).
ARMSTFT_PERMIT_ROOT_LOGIN ?= "no"

# Unmodified torch STFT/FFT calls run on armstft's engine (armstft.faststft.accelerate) in every login
# shell and SSH session; "0" leaves torch's own kernels. A service started by init sets it itself.
ARMSTFT_ACCELERATE ?= "1"

ROOTFS_POSTPROCESS_COMMAND += "armstft_key_login_only armstft_install_authorized_keys armstft_sshd_keys_only"
ROOTFS_POSTPROCESS_COMMAND += "armstft_session_env"

armstft_key_login_only[doc] = "Give ARMSTFT_USER the no-password '*' instead of the locked '!'"
armstft_key_login_only () {
    shadow=${IMAGE_ROOTFS}${sysconfdir}/shadow
    sed -i -e 's/^${ARMSTFT_USER}:![^:]*:/${ARMSTFT_USER}:*:/' "$shadow"
    grep -q '^${ARMSTFT_USER}:\*:' "$shadow" || bbfatal "$shadow: ${ARMSTFT_USER}: expected password field '*', got $(grep '^${ARMSTFT_USER}:' "$shadow" | cut -d: -f2)"
}

armstft_install_authorized_keys[doc] = "Install ARMSTFT_AUTHORIZED_KEYS for the ARMSTFT_KEY_USERS"
armstft_install_authorized_keys () {
    if [ -z "${ARMSTFT_AUTHORIZED_KEYS}" ]; then
        bbwarn "ARMSTFT_AUTHORIZED_KEYS is not set: the image has no SSH key for ${ARMSTFT_KEY_USERS}"
        return 0
    fi
    for user in ${ARMSTFT_KEY_USERS}; do
        if [ "$user" = root ]; then
            home=${IMAGE_ROOTFS}${ROOT_HOME}
        else
            home=${IMAGE_ROOTFS}/home/$user
        fi
        install -d "$home"
        owner=$(stat -c %u:%g "$home")
        install -d -m 0700 "$home/.ssh"
        install -m 0600 "${ARMSTFT_AUTHORIZED_KEYS}" "$home/.ssh/authorized_keys"
        chown -R "$owner" "$home/.ssh"
    done
}

# The first value wins in sshd_config, so the policy goes at the top of the file.
armstft_sshd_keys_only[doc] = "Allow SSH logins by key only"
armstft_sshd_keys_only () {
    conf=${IMAGE_ROOTFS}${sysconfdir}/ssh/sshd_config
    [ -f "$conf" ] || return 0
    sed -i -e '1i PasswordAuthentication no' \
           -e '1i KbdInteractiveAuthentication no' \
           -e '1i PermitRootLogin ${ARMSTFT_PERMIT_ROOT_LOGIN}' "$conf"
}

armstft_session_env[doc] = "Set ARMSTFT_ACCELERATE for login shells (profile.d) and SSH sessions (SetEnv)"
armstft_session_env () {
    install -d ${IMAGE_ROOTFS}${sysconfdir}/profile.d
    echo "export ARMSTFT_ACCELERATE=${ARMSTFT_ACCELERATE}" > ${IMAGE_ROOTFS}${sysconfdir}/profile.d/armstft.sh
    conf=${IMAGE_ROOTFS}${sysconfdir}/ssh/sshd_config
    [ -f "$conf" ] || return 0
    sed -i -e '1i SetEnv ARMSTFT_ACCELERATE=${ARMSTFT_ACCELERATE}' "$conf"
}
