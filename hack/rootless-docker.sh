# Sourced by hack/rootless-tests.sh (ROOTLESS_DOCKER=1): Docker rootless (dockerd-rootless.sh:
# dockerd and its containerd in RootlessKit's user, mount and network namespaces, slirp4netns)
# as the guest's user, with hull added as a runtime (--add-runtime hull=...) and used per
# container (--runtime hull). Storage is vfs (the guest's tmpfs /home has no user xattrs for
# rootless overlay). Uses ok/ko/u/$AS/$H from the caller.
DSOCK=/run/user/1000/docker.sock
D="docker -H unix://$DSOCK"
DR="$D run --pull never --runtime hull"
# dockerd_up [EXTRA FLAGS]: starts dockerd-rootless.sh in a unit of the user's manager (so it
# has the user's delegated cgroup, as `systemctl --user start docker` would), waits for its
# socket; its log is /tmp/dockerd-rootless.log (the previous attempt's: ...-prev.log).
dockerd_up() {
  [ -e /tmp/dockerd-rootless.log ] && mv /tmp/dockerd-rootless.log /tmp/dockerd-rootless-prev.log
  u "systemctl --user stop hull-dockerd 2>/dev/null; systemctl --user reset-failed hull-dockerd 2>/dev/null; rm -f $DSOCK" || true
  u "systemd-run --user -q --unit hull-dockerd -p Delegate=yes \
       -E PATH=/usr/share/docker.io/contrib:/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin \
       sh -c 'dockerd-rootless.sh --storage-driver vfs --add-runtime hull=/usr/local/bin/hull $* >/tmp/dockerd-rootless.log 2>&1'"
  for _ in $(seq 300); do
    u "$D version >/dev/null 2>&1" && return 0
    u "systemctl --user is-active -q hull-dockerd" || break
    sleep 1
  done
  return 1
}
if dockerd_up; then
  ok "dockerd-rootless up (--add-runtime hull)"
elif dockerd_up --iptables=false; then
  ok "dockerd-rootless up with --iptables=false (the default failed: $(grep -E 'failed to start daemon|level=(error|fatal)' /tmp/dockerd-rootless-prev.log | tail -1 | cut -c1-300))"
else
  ko "dockerd-rootless" "$(tail -5 /tmp/dockerd-rootless.log)"
fi
if u "$D version >/dev/null 2>&1"; then
  u "$D info 2>/dev/null | grep -E 'Runtimes|Cgroup|Storage Driver|rootless'" | sed 's/^/  docker info: /'
  u "tar -C rootfs -cf dimg.tar . && $D import dimg.tar bb:latest >/dev/null" || ko "docker import"
  out=$(u "$DR --rm bb sh -c 'echo hi; id -u; cat /proc/self/uid_map'" 2>&1)
  echo "$out" | grep -q '^hi$' && ok "docker run --runtime hull" || ko "docker run" "$(echo "$out" | tail -3)"
  out=$(u "$DR -d --name d1 bb sleep 300 && $D exec d1 echo inexec && $D inspect -f '{{.HostConfig.Runtime}}' d1 && $D stop -t 1 d1 && $D rm d1" 2>&1)
  echo "$out" | grep -q inexec && echo "$out" | grep -q '^hull$' && ok "docker exec, stop, rm (runtime hull)" || ko "docker exec/stop/rm" "$(echo "$out" | tail -3)"
  out=$(u "$DR --rm --memory 64m bb sh -c 'cat /sys/fs/cgroup/memory.max; cat /proc/self/cgroup'" 2>&1)
  echo "$out" | grep -q '^67108864$' && ok "docker --memory (systemd user manager)" || ko "docker --memory" "$(echo "$out" | tail -3)"
  out=$(u "$DR --rm --pids-limit 20 bb cat /sys/fs/cgroup/pids.max" 2>&1)
  echo "$out" | grep -q '^20$' && ok "docker --pids-limit" || ko "docker --pids-limit" "$(echo "$out" | tail -3)"
  out=$(u "script -qec '$DR --rm -t bb tty' /dev/null" 2>&1)
  echo "$out" | grep -q '/dev/pts/' && ok "docker run -t" || ko "docker run -t" "$(echo "$out" | tail -3)"
  out=$(u "$DR --rm --network none bb ip addr" 2>&1)
  echo "$out" | grep -q 'lo:' && ok "docker --network none" || ko "docker --network none" "$(echo "$out" | tail -3)"
  out=$(u "$DR --rm bb ip addr" 2>&1)
  echo "$out" | grep -q 'eth0' && ok "docker bridge network (in RootlessKit's netns)" || ko "docker bridge" "$(echo "$out" | tail -3)"
  left=$(u "$D ps -aq" 2>&1)
  [ -z "$left" ] && ok "docker: no containers left" || ko "docker containers left" "$left"
fi
u "systemctl --user stop hull-dockerd" >/dev/null 2>&1 || true
cp /tmp/dockerd-rootless*.log "$WT/target/" 2>/dev/null || true
