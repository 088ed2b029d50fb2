#!/usr/bin/env bash
# Installs the rover agent on a Raspberry Pi running Raspberry Pi OS (arm64, Bookworm or newer), from the folder
# `npm run rover:bundle` builds (.tools/rover-agent: the bundle, its package.json and lockfile, these scripts and the
# unit). Copy that folder to the Pi and run, as root:
#
#   sudo ./install.sh --api http://SERVER:3000 --credentials ./rover.credentials
#
# Each step checks first and changes only what differs, so running it again is safe (and is how to upgrade).
# --dry-run prints what it would do and changes nothing. docs/ROVER.md is the manual.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: sudo ./install.sh [options]
  --api URL            the inference API the rover sends frames to (written to /etc/rover-agent/agent.env)
  --credentials FILE   a file with CLIENT_ID= and TOKEN= lines: copied to /etc/rover-agent/credentials (root, 0600)
  --boot-config FILE   the Pi's config.txt (default /boot/firmware/config.txt, else /boot/config.txt)
  --no-enable          install the unit without enabling it at boot
  --dry-run            print each change instead of making it
  -h, --help           this text
USAGE
}

KIT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# ROVER_INSTALL_ROOT puts every file this writes under another root (tests; preparing an SD card image).
ROOT=${ROVER_INSTALL_ROOT:-}
PREFIX=$ROOT/opt/rover-agent
ETC=$ROOT/etc/rover-agent
UNIT=$ROOT/etc/systemd/system/rover-agent.service
MODULES=$ROOT/etc/modules-load.d/rover-agent.conf
SERVICE_USER=rover-agent
GROUPS_NEEDED=(i2c video gpio)
APT_PACKAGES=(build-essential python3 i2c-tools)
KIT_FILES=(rover-agent.js rover-agent.js.map package.json package-lock.json stop-drive.sh check-devices.sh boot-config.sh install.sh ROVER.md)

dry_run=0
api_url=
credentials=
boot_config=
enable=1
while [ $# -gt 0 ]; do
  case "$1" in
    --api) api_url=${2:?--api needs a URL}; shift 2 ;;
    --credentials) credentials=${2:?--credentials needs a file}; shift 2 ;;
    --boot-config) boot_config=${2:?--boot-config needs a file}; shift 2 ;;
    --no-enable) enable=0; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

say() { echo "[install] $*"; }
fail() { echo "[install] ERROR: $*" >&2; exit 1; }
# Runs a command that changes the system, or prints it on a dry run.
run() {
  if [ "$dry_run" = 1 ]; then
    echo "[dry-run] $*"
  else
    "$@"
  fi
}
# Copies SRC to DEST with MODE unless DEST already has the same bytes and mode.
put() {
  local src=$1 dest=$2 mode=$3
  if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c %a "$dest")" = "${mode#0}" ]; then return 0; fi
  run install -m "$mode" -o root -g root "$src" "$dest"
  changed_files=1
}

# --- checks -----------------------------------------------------------------------------------------------------------

[ "$dry_run" = 1 ] || [ "$(id -u)" = 0 ] || fail "run it as root: sudo $0 ..."
[ -f "$KIT/rover-agent.js" ] || fail "$KIT has no rover-agent.js: build the kit with \`npm run rover:bundle\` and copy .tools/rover-agent to the Pi"
[ -z "$credentials" ] || [ -f "$credentials" ] || fail "$credentials does not exist"

arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
[ "$arch" = arm64 ] || say "WARNING: this is $arch, not arm64: the agent is made for Raspberry Pi OS 64-bit"

command -v node >/dev/null || fail "Node.js 20.19 or newer is needed (Debian's nodejs is older): install it from https://nodejs.org or NodeSource, then run this again"
node_major=$(node -p 'process.versions.node.split(".")[0]')
# The repo's engines (package.json): node:util parseEnv, for one, is 20.12+.
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
  fail "Node.js $(node -v) is too old: the agent needs Node.js 20.19 or newer"
command -v npm >/dev/null || fail "npm is missing (it comes with Node.js)"
say "Node.js $(node -v) on $arch"

if [ -z "$boot_config" ]; then
  if [ -f "$ROOT/boot/firmware/config.txt" ]; then boot_config=$ROOT/boot/firmware/config.txt; else boot_config=$ROOT/boot/config.txt; fi
fi
[ -f "$boot_config" ] || fail "no $boot_config: is this Raspberry Pi OS? (--boot-config FILE names another)"

# --- packages: a compiler for i2c-bus (node-gyp), i2cdetect for check-devices.sh, the camera apps ------------------------

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = 'install ok installed' ] || missing+=("$pkg")
done
command -v rpicam-vid >/dev/null || command -v libcamera-vid >/dev/null || missing+=(rpicam-apps-lite)
if [ ${#missing[@]} -gt 0 ]; then
  say "apt packages: ${missing[*]}"
  run apt-get update
  run apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- boot configuration: I2C, the PWM overlay, the direction pin --------------------------------------------------------

reboot_needed=0
boot_args=()
[ "$dry_run" = 0 ] || boot_args=(--dry-run)
case "$(bash "$KIT/boot-config.sh" "${boot_args[@]}" "$boot_config")" in
  changed*) reboot_needed=1; say "$boot_config: rover lines written (a reboot applies them)" ;;
  *) say "$boot_config: rover lines already there" ;;
esac
if [ "$(cat "$MODULES" 2>/dev/null)" != i2c-dev ]; then
  say "loading i2c-dev at boot (/dev/i2c-1)"
  if [ "$dry_run" = 1 ]; then echo "[dry-run] echo i2c-dev > $MODULES"; else mkdir -p "$(dirname "$MODULES")" && echo i2c-dev >"$MODULES"; fi
  run modprobe i2c-dev || true
fi

# --- the service user -------------------------------------------------------------------------------------------------

for group in "${GROUPS_NEEDED[@]}"; do
  getent group "$group" >/dev/null || { say "WARNING: no group $group (not Raspberry Pi OS?): creating it"; run groupadd --system "$group"; }
done
if ! getent passwd "$SERVICE_USER" >/dev/null; then
  say "user $SERVICE_USER"
  run useradd --system --user-group --home-dir /var/lib/rover-agent --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER"
fi
member_of=" $(id -nG "$SERVICE_USER" 2>/dev/null || true) "
for group in "${GROUPS_NEEDED[@]}"; do
  [[ "$member_of" == *" $group "* ]] || run usermod -aG "$group" "$SERVICE_USER"
done

# --- the agent: /opt/rover-agent, then its packages (i2c-bus is compiled here) -----------------------------------------

changed_files=0
[ -d "$PREFIX" ] || run install -d -m 0755 -o root -g root "$PREFIX"
for file in "${KIT_FILES[@]}"; do
  [ -f "$KIT/$file" ] || continue
  case "$file" in *.sh) mode=0755 ;; *) mode=0644 ;; esac
  put "$KIT/$file" "$PREFIX/$file" "$mode"
done
stamp="$(sha256sum "$KIT/package-lock.json" | cut -d' ' -f1) node-$node_major"
if [ "$(cat "$PREFIX/node_modules/.rover-agent-installed" 2>/dev/null)" != "$stamp" ]; then
  say "npm ci --omit=dev in $PREFIX"
  if [ "$dry_run" = 1 ]; then
    echo "[dry-run] (cd $PREFIX && npm ci --omit=dev)"
  else
    (cd "$PREFIX" && npm ci --omit=dev --no-audit --no-fund)
    echo "$stamp" >"$PREFIX/node_modules/.rover-agent-installed"
  fi
else
  say "$PREFIX/node_modules up to date"
fi
[ "$dry_run" = 1 ] || node "$PREFIX/rover-agent.js" --help >/dev/null || fail "the installed agent does not start: node $PREFIX/rover-agent.js --help"
# A running agent is left alone (it may be parking): the new one runs from the next start.
[ "$changed_files" = 0 ] || say "$PREFIX: new agent files (used from the next start of rover-agent)"

# --- settings and credentials -----------------------------------------------------------------------------------------

[ -d "$ETC" ] || run install -d -m 0755 -o root -g root "$ETC"
if [ ! -f "$ETC/agent.env" ]; then
  say "$ETC/agent.env (the unit's settings; edit and \`systemctl restart rover-agent\`)"
  env_text="# Settings of rover-agent.service (its defaults are in /etc/systemd/system/rover-agent.service).
ROVER_API_URL=${api_url:-http://localhost:3000}
#ROVER_RUNS=1
#ROVER_MODE=model
#ROVER_I2C_BUS=1
#ROVER_PWM_CHIP=0
#ROVER_PWM_CHANNEL=0
#ROVER_OUTBOX_MAX_BYTES=200000000
#ROVER_EXTRA_ARGS="
  if [ "$dry_run" = 1 ]; then echo "[dry-run] write $ETC/agent.env"; else printf '%s\n' "$env_text" >"$ETC/agent.env"; fi
elif [ -n "$api_url" ] && ! grep -qx "ROVER_API_URL=$api_url" "$ETC/agent.env"; then
  say "$ETC/agent.env: ROVER_API_URL=$api_url"
  run sed -i "s#^ROVER_API_URL=.*#ROVER_API_URL=$api_url#" "$ETC/agent.env"
fi

if [ -n "$credentials" ]; then
  grep -q '^CLIENT_ID=.' "$credentials" && grep -q '^TOKEN=.' "$credentials" || fail "$credentials needs a CLIENT_ID= and a TOKEN= line"
  put "$credentials" "$ETC/credentials" 0600
elif [ ! -f "$ETC/credentials" ]; then
  say "WARNING: no credentials: write CLIENT_ID= and TOKEN= lines (from the API's client registration) to $ETC/credentials, mode 0600"
fi

# --- the unit ---------------------------------------------------------------------------------------------------------

changed_files=0
[ -d "$(dirname "$UNIT")" ] || run install -d -m 0755 "$(dirname "$UNIT")"
put "$KIT/rover-agent.service" "$UNIT" 0644
[ "$changed_files" = 0 ] || run systemctl daemon-reload
if [ "$enable" = 1 ] && ! systemctl is-enabled --quiet rover-agent.service 2>/dev/null; then
  run systemctl enable rover-agent.service
fi

say "installed: $PREFIX, $ETC, $UNIT"
if [ "$reboot_needed" = 1 ]; then
  say "reboot for the I2C, PWM and direction pin settings: sudo reboot; then $PREFIX/check-devices.sh"
else
  say "check the devices: $PREFIX/check-devices.sh; park: sudo systemctl start rover-agent; logs: journalctl -u rover-agent -f"
fi
