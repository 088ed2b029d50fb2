#!/usr/bin/env bash
# Checks the rover's devices one by one from the command line, as the agent will use them: the laser on I2C, the
# camera, the PWM channel and the direction pin, then one laser reading and one frame through the agent's own drivers.
# Run on the Pi after install.sh and a reboot: /opt/rover-agent/check-devices.sh (as root, it checks as the service's
# user, so missing group rights show here). Exit status: the number of failed checks.
# usage: check-devices.sh [--agent "COMMAND"]   (default: node /opt/rover-agent/rover-agent.js; in a checkout:
#                                              --agent "npm run --silent rover -- agent")
set -uo pipefail

agent="node $(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/rover-agent.js"
case "${1:-}" in
  --agent) agent=${2:?--agent needs a command} ;;
  -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  '') ;;
  *) echo "check-devices: unknown option $1" >&2; exit 2 ;;
esac

# The unit's settings, so the checks look where the agent will. ROVER_ENV_FILE, ROVER_DEV and ROVER_PWM_SYSFS replace
# /etc/rover-agent/agent.env, /dev and /sys/class/pwm (tests).
env_file=${ROVER_ENV_FILE:-/etc/rover-agent/agent.env}
# shellcheck disable=SC1090
[ -r "$env_file" ] && set -a && . "$env_file" && set +a
dev=${ROVER_DEV:-/dev}
sysfs=${ROVER_PWM_SYSFS:-/sys/class/pwm}
bus=${ROVER_I2C_BUS:-1}
chip=${ROVER_PWM_CHIP:-0}
channel=${ROVER_PWM_CHANNEL:-0}
direction_gpio=23
address=29

failures=0
ok() { echo "OK    $*"; }
bad() { echo "FAIL  $*"; failures=$((failures + 1)); }
# As the service's user when run as root, so a missing group shows as the agent would meet it.
as_agent() {
  if [ "$(id -u)" = 0 ] && id rover-agent >/dev/null 2>&1; then runuser -u rover-agent -- "$@"; else "$@"; fi
}

echo "== laser: VL53L0X at 0x$address on I2C bus $bus ($dev/i2c-$bus)"
if [ ! -e "$dev/i2c-$bus" ]; then
  bad "$dev/i2c-$bus is missing: dtparam=i2c_arm=on in config.txt, i2c-dev loaded, rebooted?"
elif ! command -v i2cdetect >/dev/null; then
  bad "i2cdetect is missing: sudo apt-get install i2c-tools"
else
  scan=$(as_agent i2cdetect -y "$bus" 0x$address 0x$address 2>&1)
  echo "$scan"
  if grep -Eq "^20:.* ($address|UU)( |$)" <<<"$scan"; then ok "a device answers at 0x$address"; else bad "nothing at 0x$address: check VIN 3V3, GND, SDA GPIO2 (pin 3), SCL GPIO3 (pin 5)"; fi
fi

echo "== camera"
camera_cmd=$(command -v rpicam-hello || command -v libcamera-hello || true)
if [ -z "$camera_cmd" ]; then
  bad "rpicam-hello is missing: sudo apt-get install rpicam-apps-lite"
else
  cameras=$(as_agent "$camera_cmd" --list-cameras 2>&1)
  echo "$cameras"
  if grep -Eq '^[[:space:]]*0 : ' <<<"$cameras"; then ok "camera 0 found"; else bad "no camera: ribbon cable on the CSI connector (contacts to the board), camera_auto_detect=1, rebooted?"; fi
fi

echo "== drive: PWM chip $chip channel $channel, direction GPIO$direction_gpio"
pwmchip=$sysfs/pwmchip$chip
if [ ! -d "$pwmchip" ]; then
  bad "$pwmchip is missing: dtoverlay=pwm,pin=18,func=2 in config.txt, rebooted?"
elif [ "$(cat "$pwmchip/npwm")" -le "$channel" ]; then
  bad "$pwmchip has $(cat "$pwmchip/npwm") channels, no channel $channel"
elif ! as_agent test -w "$pwmchip/export"; then
  bad "$pwmchip/export is not writable by the agent's user: is it in group gpio?"
else
  ok "$pwmchip, channel $channel, writable by the agent"
fi
if command -v pinctrl >/dev/null; then
  pin=$(pinctrl get "$direction_gpio")
elif command -v raspi-gpio >/dev/null; then
  pin=$(raspi-gpio get "$direction_gpio")
else
  pin=
fi
if [ -z "$pin" ]; then
  bad "cannot read GPIO$direction_gpio: pinctrl (raspi-utils) or raspi-gpio is missing"
else
  echo "$pin"
  if grep -Eq 'op.*\| hi|level=1.*OUTPUT' <<<"$pin"; then ok "GPIO$direction_gpio is an output, high: reverse"; else bad "GPIO$direction_gpio is not an output driven high: gpio=$direction_gpio=op,dh in config.txt, rebooted?"; fi
fi

echo "== one laser reading and one camera frame through the agent's drivers"
if systemctl is-active --quiet rover-agent.service 2>/dev/null; then
  # Two processes on one camera and one motor: never.
  bad "rover-agent is running: stop it first (sudo systemctl stop rover-agent), then check again"
# shellcheck disable=SC2086
elif as_agent $agent --check --i2c-bus "$bus"; then
  ok "the agent reads the laser and the camera"
else
  bad "the agent could not read the laser or the camera (above: why)"
fi

echo
if [ "$failures" = 0 ]; then echo "all devices OK"; else echo "$failures check(s) failed"; fi
exit "$failures"
