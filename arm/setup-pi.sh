#!/usr/bin/env bash
# Prepare a fresh Raspberry Pi OS for alertloop: check the OS, install Docker Engine with the
# compose plugin from Docker's apt repository, add the user to the `docker` group, and install
# what `make secrets` needs (make, python3, git).
#
#   sudo arm/setup-pi.sh                 # 64-bit Raspberry Pi OS (recommended)
#   sudo arm/setup-pi.sh --allow-32bit   # 32-bit: works, but read the warning first
#
# Safe to run again: it skips what is already there.
set -euo pipefail

allow_32bit=false
for arg in "$@"; do
    case "$arg" in
        --allow-32bit) allow_32bit=true ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown option: $arg (try --help)" >&2; exit 2 ;;
    esac
done

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'setup-pi: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run it with sudo: sudo $0 $*"
target_user="${SUDO_USER:-}"
[ -n "$target_user" ] && [ "$target_user" != root ] \
    || die "run it with sudo from your own account, so that account joins the docker group"

[ -r /etc/os-release ] || die "/etc/os-release is missing: is this Raspberry Pi OS?"
# shellcheck disable=SC1091
. /etc/os-release

say "Checking the operating system"
userland="$(dpkg --print-architecture)"
kernel="$(uname -m)"
echo "OS: ${PRETTY_NAME:-unknown}; user space: $userland; kernel: $kernel"
case "$userland" in
    arm64)
        platform=linux/arm64
        ;;
    armhf)
        platform=linux/arm/v7
        cat >&2 <<'WARN'
WARNING: this is a 32-bit OS. InfluxDB maps its data files into memory, and a 32-bit process
has at most about 3 GB of address space: as the data grows, InfluxDB runs out of it and
crashes. Install Raspberry Pi OS (64-bit) instead, which every Pi since the Pi 3 can run.
WARN
        $allow_32bit || die "stopping; pass --allow-32bit to go on anyway"
        ;;
    amd64)
        platform=linux/amd64
        echo "Not a Pi, but fine: the stack runs on amd64 too (skip the arm/ override)."
        ;;
    *)
        die "unsupported architecture $userland (need arm64, armhf or amd64)"
        ;;
esac

memory_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
echo "Memory: ${memory_mb} MB"
if [ "$memory_mb" -lt 1300 ]; then
    echo "WARNING: less than 2 GB of RAM; the stack's memory limits add up to about 1.3 GB." >&2
fi

say "Installing make, python3, git and curl"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    ca-certificates curl gnupg make python3 git

if docker compose version >/dev/null 2>&1; then
    say "Docker and its compose plugin are already installed: $(docker --version)"
else
    say "Installing Docker Engine and the compose plugin from Docker's apt repository"
    # 64-bit Raspberry Pi OS is Debian; the 32-bit one uses Docker's raspbian repository.
    distro=debian
    if [ "$userland" = armhf ] && [ "${ID:-}" = raspbian ]; then
        distro=raspbian
    fi
    [ "${ID:-}" = ubuntu ] && distro=ubuntu
    codename="${VERSION_CODENAME:?cannot tell the release codename from /etc/os-release}"
    install -m 0755 -d /etc/apt/keyrings
    curl -fsSL "https://download.docker.com/linux/$distro/gpg" -o /etc/apt/keyrings/docker.asc
    chmod a+r /etc/apt/keyrings/docker.asc
    echo "deb [arch=$userland signed-by=/etc/apt/keyrings/docker.asc]" \
        "https://download.docker.com/linux/$distro $codename stable" \
        > /etc/apt/sources.list.d/docker.list
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin
    systemctl enable --now docker
fi

say "Letting $target_user run docker"
if id -nG "$target_user" | tr ' ' '\n' | grep -qx docker; then
    echo "$target_user is already in the docker group."
else
    usermod -aG docker "$target_user"
    echo "Added $target_user to the docker group: log out and in again for it to apply."
fi

say "Done. Next, as $target_user, in the alertloop folder:"
cat <<NEXT
  make secrets        # writes .env and the broker's password file
  sed -i -e 's|^ALERTLOOP_PLATFORM=.*|ALERTLOOP_PLATFORM=$platform|' \\
         -e 's|^#COMPOSE_FILE=|COMPOSE_FILE=|' \\
         -e 's|^CADDY_SITE=.*|CADDY_SITE=$(hostname).local|' .env    # the arm/ override; the TLS name
  docker compose up -d
  docker compose ps   # wait until every service says "healthy"
  make device NAME=<board id> ROLE=sensor   # once per board, then flash it (docs/boards.md)
Then open https://$(hostname).local/grafana/ (user admin, password GRAFANA_ADMIN_PASSWORD from
.env) and the operator console, https://$(hostname).local/ (docs/console.md: its users, and how
a browser trusts Caddy's certificate).
NEXT
