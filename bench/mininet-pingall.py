#!/usr/bin/env python3
"""Mininet's pingAll on a single Linux bridge with N hosts, no controller (bench/ping-mesh.ts).

Started inside a namespace of its own (`ip netns exec`), so the bridge Mininet puts in "its root
namespace" stays out of the machine's. Builds the net once, then times one net.pingAll() per line
read on stdin and prints the seconds and the loss; "quit" (or EOF) stops the net.
"""
import sys
import time

from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.nodelib import LinuxBridge
from mininet.topo import SingleSwitchTopo

setLogLevel('error')
n = int(sys.argv[1])
net = Mininet(topo=SingleSwitchTopo(k=n), switch=LinuxBridge, controller=None)
net.start()
try:
    # One warm-up: ARP tables filled, as they are on a geneve-lab that has run its checks once.
    net.pingAll()
    print('ready', flush=True)
    for line in sys.stdin:
        if line.strip() == 'quit':
            break
        t0 = time.perf_counter()
        loss = net.pingAll()
        print('%.6f %s' % (time.perf_counter() - t0, loss), flush=True)
finally:
    net.stop()
