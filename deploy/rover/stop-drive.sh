#!/usr/bin/env bash
# Stops the rover's motor through the kernel's PWM sysfs interface: duty cycle 0, then the channel disabled.
# The unit runs it before the agent starts and after it ends however it ended (ExecStopPost=, so even a SIGKILL or an
# out-of-memory kill stops the motor); run it by hand any time: `sudo /opt/rover-agent/stop-drive.sh`.
# The channel is the agent's (/etc/rover-agent/agent.env): ROVER_PWM_CHIP (default 0), ROVER_PWM_CHANNEL (default 0);
# ROVER_PWM_SYSFS replaces /sys/class/pwm (tests).
set -u

sysfs=${ROVER_PWM_SYSFS:-/sys/class/pwm}
pwm="$sysfs/pwmchip${ROVER_PWM_CHIP:-0}/pwm${ROVER_PWM_CHANNEL:-0}"

if [ ! -d "$pwm" ]; then
  # Never exported since boot: the pin has no PWM signal, the motor driver sees its pull-down.
  echo "stop-drive: $pwm is not exported: no PWM signal, nothing to stop"
  exit 0
fi

failed=0
echo 0 >"$pwm/duty_cycle" || failed=1
echo 0 >"$pwm/enable" || failed=1
if [ "$failed" = 1 ]; then
  echo "stop-drive: could not stop $pwm (is this run as root or as a member of group gpio?)" >&2
  exit 1
fi
echo "stop-drive: $pwm duty 0, disabled"
