#!/usr/bin/python3
"""A minimal CRI (Kubernetes Container Runtime Interface, runtime.v1) client: just what the
engine test needs to do what the kubelet does with a RuntimeClass (RunPodSandbox with a
runtime handler, CreateContainer, StartContainer, ExecSync, stop and remove). Messages are
encoded by hand (protobuf wire format, field numbers from CRI's api.proto), so only
python3-grpcio is needed.

  cri.py SOCKET version                                  -> runtime name and version
  cri.py SOCKET run-pod NAME HANDLER CGROUP_PARENT       -> prints the pod sandbox id
  cri.py SOCKET create [LIMIT=N...] POD_ID POD_NAME CGROUP_PARENT NAME IMAGE CMD... -> the container id
      LIMIT: memory, cpu_quota, cpu_period, cpu_shares (LinuxContainerResources, as the kubelet
      fills it from the pod spec's requests and limits)
  cri.py SOCKET update ID LIMIT=N...                     -> UpdateContainerResources
  cri.py SOCKET start ID | stop ID | rm ID | stop-pod ID | rm-pod ID
  cri.py SOCKET exec ID CMD...  -> the command's stdout (stderr to stderr), its exit status
"""
import sys

import grpc


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, value):
    """One field: int -> varint, bytes/str -> length-delimited (also nested messages)."""
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def msg(*fields):
    return b"".join(field(n, v) for n, v in fields if v is not None)


def decode(data):
    """Top-level fields of a message: {number: [values]} (varints as int, else bytes)."""
    out, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(data, i)
        elif wt == 2:
            n, i = read_varint(data, i)
            v, i = data[i:i + n], i + n
        elif wt == 1:
            v, i = data[i:i + 8], i + 8
        elif wt == 5:
            v, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        out.setdefault(num, []).append(v)
    return out


def read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


NODE = 2  # NamespaceMode: the node's namespace (host network: no CNI needed)


def sandbox_config(name, cgroup_parent):
    metadata = msg((1, name), (2, name + "-uid"), (3, "hull-test"), (4, 0))
    ns = msg((1, NODE))
    security = msg((1, ns))
    linux = msg((1, cgroup_parent), (2, security))
    # No hostname: like the kubelet for host-network pods (the UTS namespace is the node's).
    return msg((1, metadata), (8, linux))


# LinuxContainerResources field numbers.
RESOURCES = {"cpu_period": 1, "cpu_quota": 2, "cpu_shares": 3, "memory": 4}


def take_limits(args):
    """Leading LIMIT=N arguments -> (LinuxContainerResources message or None, the rest)."""
    fields = []
    while args and "=" in args[0] and args[0].split("=", 1)[0] in RESOURCES:
        k, v = args[0].split("=", 1)
        fields.append((RESOURCES[k], int(v)))
        args = args[1:]
    fields.sort()
    return (msg(*fields) if fields else None), args


def main():
    sock, verb, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    ch = grpc.insecure_channel("unix://" + sock)

    def call(method, req):
        f = ch.unary_unary(f"/runtime.v1.RuntimeService/{method}",
                           request_serializer=lambda x: x,
                           response_deserializer=lambda x: x)
        return decode(f(req, timeout=60))

    if verb == "version":
        r = call("Version", msg((1, "v1")))
        print(r[2][0].decode(), r[3][0].decode())
    elif verb == "run-pod":
        name, handler, parent = args
        r = call("RunPodSandbox", msg((1, sandbox_config(name, parent)), (2, handler)))
        print(r[1][0].decode())
    elif verb == "create":
        resources, args = take_limits(args)
        pod, pod_name, parent, name, image, cmd = (args[0], args[1], args[2], args[3],
                                                   args[4], args[5:])
        # ContainerConfig.linux (15) = LinuxContainerConfig{resources (1)}.
        linux = msg((1, resources)) if resources else None
        cfg = msg((1, msg((1, name), (2, 0))), (2, msg((1, image))), *[(3, c) for c in cmd],
                  (15, linux))
        r = call("CreateContainer",
                 msg((1, pod), (2, cfg), (3, sandbox_config(pod_name, parent))))
        print(r[1][0].decode())
    elif verb == "update":
        resources, rest = take_limits(args[1:])
        if rest or resources is None:
            sys.exit("cri.py: update ID LIMIT=N...")
        call("UpdateContainerResources", msg((1, args[0]), (2, resources)))
    elif verb == "exec":
        cid, cmd = args[0], args[1:]
        r = call("ExecSync", msg((1, cid), *[(2, c) for c in cmd], (3, 30)))
        sys.stdout.write(r.get(1, [b""])[0].decode())
        sys.stderr.write(r.get(2, [b""])[0].decode())
        sys.exit(r.get(3, [0])[0])
    elif verb in ("start", "rm", "stop", "stop-pod", "rm-pod"):
        method = {"start": "StartContainer", "rm": "RemoveContainer",
                  "stop": "StopContainer", "stop-pod": "StopPodSandbox",
                  "rm-pod": "RemovePodSandbox"}[verb]
        extra = [(2, 10)] if verb == "stop" else []
        call(method, msg((1, args[0]), *extra))
    else:
        sys.exit(f"cri.py: unknown verb {verb}")


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as e:
        sys.exit(f"cri.py: {e.code().name}: {e.details()}")
