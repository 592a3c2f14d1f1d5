"""Write a large, realistic nmap XML file: N hosts (a /16 = 65,536), six open services each.

The services carry what ``nmap -sV`` writes (product, version, extrainfo, several
CPEs, ``method="probed"``) and two carry script output, so a parser has real work.

    .venv/bin/python bench/gen_nmap_xml.py OUT.xml [--hosts 65536]
"""

from __future__ import annotations

import argparse
from pathlib import Path

START = 1764180000
SERVICES = [
    (22, "ssh", "OpenSSH", "7.4", "protocol 2.0",
     ["cpe:/a:openbsd:openssh:7.4", "cpe:/o:linux:linux_kernel"], ""),
    (80, "http", "nginx", "1.14.0", "", ["cpe:/a:igor_sysoev:nginx:1.14.0"],
     '<script id="http-title" output="Welcome to nginx!"><elem key="title">Welcome to nginx!'
     '</elem></script>'),
    (443, "http", "nginx", "1.14.0", "", ["cpe:/a:igor_sysoev:nginx:1.14.0"], ""),
    (3306, "mysql", "MySQL", "5.7.33", "", ["cpe:/a:mysql:mysql:5.7.33"], ""),
    (6379, "redis", "Redis key-value store", "6.0.5", "", ["cpe:/a:redislabs:redis:6.0.5"], ""),
    (8080, "http", "Apache Tomcat", "9.0.31", "", ["cpe:/a:apache:tomcat:9.0.31"],
     '<script id="http-title" output="Apache Tomcat/9.0.31"><elem key="title">'
     "Apache Tomcat/9.0.31</elem></script>"),
]


def generate(path: Path, hosts: int = 65536, network: str = "10.20") -> int:
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n')
        out.write(f'<nmaprun scanner="nmap" args="nmap -n -sS -sV --script=http-title '
                  f'--top-ports 1000 -oX big.xml {network}.0.0/16" start="{START}" '
                  'startstr="Wed Nov 26 18:00:00 2026" version="7.93" xmloutputversion="1.05">\n'
                  '<scaninfo type="syn" protocol="tcp" numservices="1000" '
                  'services="1-1024,1433,3306,5432,6379,8080,8443,9200,27017"/>\n'
                  '<verbose level="0"/>\n<debugging level="0"/>\n')
        for i in range(hosts):
            address = f"{network}.{i >> 8}.{i & 255}"
            out.write(f'<host starttime="{START}" endtime="{START + 30}"><status state="up" '
                      f'reason="syn-ack" reason_ttl="64"/>\n<address addr="{address}" '
                      'addrtype="ipv4"/>\n<hostnames>\n</hostnames>\n<ports><extraports '
                      'state="closed" count="994">\n</extraports>\n')
            for port, name, product, version, extra, cpes, script in SERVICES:
                extrainfo = f' extrainfo="{extra}"' if extra else ""
                tunnel = ' tunnel="ssl"' if port == 443 else ""
                cpe = "".join(f"<cpe>{c}</cpe>" for c in cpes)
                out.write(f'<port protocol="tcp" portid="{port}"><state state="open" '
                          f'reason="syn-ack" reason_ttl="64"/><service name="{name}" '
                          f'product="{product}" version="{version}"{extrainfo}{tunnel} '
                          f'method="probed" conf="10">{cpe}</service>{script}</port>\n')
            out.write('</ports>\n<times srtt="45" rttvar="10" to="100000"/>\n</host>\n')
        out.write(f'<runstats><finished time="{START + 3600}" timestr="x" summary="Nmap done; '
                  f'{hosts} IP addresses ({hosts} hosts up) scanned in 3600.00 seconds" '
                  f'elapsed="3600.00" exit="success"/><hosts up="{hosts}" down="0" '
                  f'total="{hosts}"/>\n</runstats>\n</nmaprun>\n')
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--hosts", type=int, default=65536)
    args = parser.parse_args()
    size = generate(args.out, args.hosts)
    print(f"wrote {args.out}: {args.hosts} hosts, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
