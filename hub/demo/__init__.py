"""The sandbox behind `pmhub demo` (`make run`): every vendor faked on loopback, the real
daemon, a SEV-1 and a SEV-2 driven from webhook to Closed and narrated.

`sandbox` runs it (the click command and the lifetimes); `world` starts the fakes and
writes the daemon's configuration; `story` is what happens; `driver` plays it through the
signed endpoints and the moving clock; `narrator` prints what reached each vendor's tool;
`checks` compares that with what was expected.
"""
