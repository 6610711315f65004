# Sourced by hack/rootless-tests.sh (ROOTLESS_PODMAN=1): rootless podman, its default
# configuration (systemd cgroup manager on the user's manager, slirp4netns, vfs storage in the
# guest), with --runtime hull. Uses ok/ko/u/$AS/$H from the caller.
P="podman --runtime /usr/local/bin/hull"
u "tar -C rootfs -cf img.tar . && podman import -q img.tar localhost/bb >/dev/null" || ko "podman import"
out=$(u "$P run --rm localhost/bb sh -c 'echo hi; id -u'" 2>&1)
echo "$out" | grep -q '^hi$' && ok "podman run" || ko "podman run" "$(echo "$out" | tail -3)"
out=$(u "$P run -d --name c1 localhost/bb sleep 300 && $P exec c1 echo inexec && $P stop -t 1 c1 && $P rm c1" 2>&1)
echo "$out" | grep -q inexec && ok "podman exec, stop, rm" || ko "podman exec/stop/rm" "$(echo "$out" | tail -3)"
out=$(u "$P run --rm --memory 64m localhost/bb sh -c 'cat /sys/fs/cgroup/memory.max; cat /proc/self/cgroup'" 2>&1)
echo "$out" | grep -q '^67108864$' && ok "podman --memory (user slice)" || ko "podman --memory" "$(echo "$out" | tail -3)"
out=$(u "$P run --rm --userns=keep-id localhost/bb id -u" 2>&1)
echo "$out" | grep -q '^1000$' && ok "podman --userns=keep-id" || ko "podman keep-id" "$(echo "$out" | tail -3)"
out=$(u "$P run --rm localhost/bb ip addr" 2>&1)
echo "$out" | grep -q 'tap0' && ok "podman network (slirp4netns)" || ko "podman slirp4netns" "$(echo "$out" | tail -3)"
out=$(u "podman pod create --infra=false --name p1 >/dev/null && $P run --rm --pod p1 localhost/bb echo inpod; podman pod rm -f p1" 2>&1)
echo "$out" | grep -q inpod && ok "podman pod (no infra: no pause image offline)" || ko "podman pod" "$(echo "$out" | tail -3)"
