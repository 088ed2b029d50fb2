#!/usr/bin/env bash
# Writes the rover's lines into the Raspberry Pi's boot configuration (config.txt) between two marker lines,
# replacing an earlier copy of them, so running it again changes nothing. The file is replaced atomically and the
# first version before any rover lines is kept as FILE.before-rover. Prints "changed" (a reboot applies it) or "unchanged".
# usage: boot-config.sh [--dry-run] FILE
set -euo pipefail

dry_run=0
if [ "${1:-}" = --dry-run ]; then
  dry_run=1
  shift
fi
file=${1:?usage: boot-config.sh [--dry-run] FILE}
[ -f "$file" ] || { echo "boot-config: $file does not exist" >&2; exit 1; }

BEGIN='# rover-agent: begin (written by deploy/rover/boot-config.sh; edits between these lines are replaced)'
END='# rover-agent: end'
# The pins are the ones docs/ROVER.md's wiring table names (and edge/hardware/pwmDrive.ts expects).
block="$BEGIN
[all]
# I2C bus 1 on GPIO2 (SDA, pin 3) and GPIO3 (SCL, pin 5): the VL53L0X laser at 0x29 (/dev/i2c-1).
dtparam=i2c_arm=on
# Hardware PWM channel 0 on GPIO18 (pin 12): the motor driver's speed input (/sys/class/pwm/pwmchip0/pwm0).
dtoverlay=pwm,pin=18,func=2
# Analog audio drives the same PWM block.
dtparam=audio=off
# The motor driver's direction input on GPIO23 (pin 16): an output driven high from boot, the rover only reverses.
gpio=23=op,dh
# The camera on the CSI connector, detected at boot.
camera_auto_detect=1
$END"

# The file without an earlier rover block, then the block at its end (after every conditional section: [all] resets them).
current=$(cat "$file")
without=$(printf '%s\n' "$current" | awk -v begin="$BEGIN" -v end="$END" '$0 == begin { skip = 1; next } skip && $0 == end { skip = 0; next } !skip')
wanted=$(printf '%s\n\n%s' "$without" "$block")

if [ "$current" = "$wanted" ]; then
  echo unchanged
  exit 0
fi
if [ "$dry_run" = 1 ]; then
  echo "changed (dry run: $file not written)"
  exit 0
fi
[ -e "$file.before-rover" ] || cp -p "$file" "$file.before-rover"
tmp=$(mktemp "$file.XXXXXX")
printf '%s\n' "$wanted" >"$tmp"
chmod --reference="$file" "$tmp"
mv "$tmp" "$file"
echo changed
