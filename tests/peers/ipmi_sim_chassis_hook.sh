#!/bin/sh
# A TEST PEER's chassis: ipmi_sim's chassis_control hook for one simulated machine.
# Usage (from ipmi_sim's lan.conf): chassis_control "ipmi_sim_chassis_hook.sh DIR"
# ipmi_sim then calls it as: DIR get power|boot ... | DIR set power 0|1 | set boot none|pxe|default | set reset 1
#
# The machine's state is plain files in DIR, so a test reads what the BMC really did:
#   power      1 | 0
#   boot       none | pxe | default ...   (the next boot's device override; one boot only)
#   last-boot  the device the last power-on booted from
#   log        one line per call from ipmi_sim
# Power going on "boots" the machine: the boot override is used for this boot and then cleared, and
# DIR/on-power-on (if it exists) runs in the background. Power going off runs DIR/on-power-off.
# Neither ever blocks the BMC.
d="$1"; op="$2"; shift 2
mkdir -p "$d"
echo "$op $*" >> "$d/log"

run_bg() {  # in its own session, detached from ipmi_sim's pipes
  [ -x "$d/$1" ] || return 0
  setsid "$d/$1" </dev/null >>"$d/hook.log" 2>&1 &
}

boot() {
  dev=$(cat "$d/boot" 2>/dev/null || echo none)
  echo "$dev" > "$d/last-boot"
  echo "boot $dev" >> "$d/log"
  echo none > "$d/boot"
  run_bg on-power-on
}

case "$op" in
get)
  for p in "$@"; do
    case $p in
      power) echo "power:$(cat "$d/power" 2>/dev/null || echo 0)";;
      boot)  echo "boot:$(cat "$d/boot" 2>/dev/null || echo none)";;
      *) exit 1;;
    esac
  done;;
set)
  while [ $# -ge 2 ]; do
    case $1 in
      power)
        was=$(cat "$d/power" 2>/dev/null || echo 0)
        echo "$2" > "$d/power"
        if [ "$was" = 0 ] && [ "$2" = 1 ]; then boot; fi
        if [ "$was" = 1 ] && [ "$2" = 0 ]; then run_bg on-power-off; fi;;
      reset)
        echo reset >> "$d/resets"
        if [ "$(cat "$d/power" 2>/dev/null || echo 0)" = 1 ]; then run_bg on-power-off; boot; fi;;
      boot) echo "$2" > "$d/boot";;
      *) exit 1;;
    esac
    shift 2
  done;;
*) exit 1;;
esac
