"""The asyncssh peer of `drover exec -- CMD`: connect to every host at once, run CMD, close.

    python asyncssh_exec.py HOSTS_FILE USER KEY KNOWN_HOSTS CMD

HOSTS_FILE holds one address per line (port 22). Prints `ok N failed M`; exits 1 if any failed.
"""
import asyncio
import sys

import asyncssh


async def one(address, user, key, known_hosts, cmd):
    async with asyncssh.connect(address, username=user, client_keys=[key],
                                known_hosts=known_hosts, agent_path=None) as conn:
        result = await conn.run(cmd, check=False)
        return result.exit_status == 0


async def main():
    hosts_file, user, key, known_hosts, cmd = sys.argv[1:6]
    with open(hosts_file) as f:
        hosts = [line.strip() for line in f if line.strip()]
    results = await asyncio.gather(*(one(h, user, key, known_hosts, cmd) for h in hosts),
                                   return_exceptions=True)
    ok = sum(1 for r in results if r is True)
    failed = len(results) - ok
    for h, r in zip(hosts, results):
        if isinstance(r, BaseException):
            print(f"{h}: {r!r}", file=sys.stderr)
    print(f"ok {ok} failed {failed}")
    sys.exit(1 if failed else 0)


asyncio.run(main())
