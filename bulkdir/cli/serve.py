"""`bulkdir serve`: the web page (bulkdir/web/) on this machine, for the people who never open a terminal."""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any

import click

from bulkdir.cli.app import LANG_KEY, cli
from bulkdir.cli.options import Connection, connection_options


@cli.command("serve")
@connection_options
@click.option("--port", type=click.IntRange(0, 65535), default=8700, show_default=True,
              help="Port to listen on (0: a free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but this machine's loopback needs --allow-remote.")
@click.option("--allow-remote", is_flag=True, help="Let --host be an address other machines can reach.")
@click.option("--no-browser", is_flag=True, help="Do not open the page in a browser.")
@click.option("--max-upload", type=click.FloatRange(0.001, 1024), default=50, show_default=True, metavar="MB",
              help="The largest sheet the page takes, in MB.")
@click.option("--journal", type=click.Path(dir_okay=False), default=None,
              help="Journal file (SQLite) [default: journal.sqlite3 in the user's data folder].")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True, is_eager=True,
              callback=lambda ctx, param, value: ctx.find_root().meta.__setitem__(LANG_KEY, value) or value,
              help="The page's language (a switch on the page changes it), and of this command's messages.")
def serve_command(connection: Connection, port: int, host: str, allow_remote: bool, no_browser: bool,
                  max_upload: float, journal: str | None, lang: str) -> None:
    """Serve a web page where HR drops a sheet, sees every problem, reviews the plan, runs it and
    downloads the results. It prints the page's address with a one-time token; only the browser that
    opens it gets in. Ctrl-C stops it (a run in progress stops taking new work, is journalled and
    writes its report first).

    \b
    Example:
      bulkdir serve --sandbox
      bulkdir serve --profile prod --no-browser
    """
    import tempfile
    import threading
    import webbrowser
    from pathlib import Path

    import uvicorn

    from bulkdir.config import user_dirs
    from bulkdir.errors import ConfigError
    from bulkdir.web.app import create_app
    from bulkdir.web.workspace import Workspace

    loopback = host in ("localhost",) or _is_loopback(host)
    if not loopback and not allow_remote:
        raise ConfigError(f"--host {host} can be reached from other machines: add --allow-remote to serve there "
                          "(the page still needs its one-time token)",
                          f"--host {host} 可被其他机器访问：如确需如此，请加 --allow-remote（页面仍需一次性令牌）")
    if not loopback:
        click.echo(f"Warning: serving on {host}, which other machines can reach; anyone with the printed address "
                   "can change the directory until its token is used. (警告：其他机器可以访问此地址。)", err=True)
    client = connection.client()
    data = user_dirs().data
    data.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="serve-", dir=data))
    workspace = Workspace(client, folder=folder, max_upload=int(max_upload * 2**20),
                          journal=Path(journal) if journal else None, sandbox=connection.sandbox, lang=lang)
    # no access log: the first request's line holds the one-time token
    config = uvicorn.Config(None, host=host, port=port, log_level="warning", access_log=False,  # type: ignore[arg-type]
                            lifespan="off", timeout_graceful_shutdown=5)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            for run in list(workspace.runs.values()):
                run.stop.set()  # Ctrl-C stops a run as it does in the CLI: no new work, the calls in flight finish
            super().handle_exit(sig, frame)

    server = Server(config)
    bound = _bind(host, port)
    port = bound.getsockname()[1]
    names = {f"{host}:{port}", f"127.0.0.1:{port}", f"localhost:{port}"} if loopback else {f"{host}:{port}"}
    app = create_app(workspace, hosts=names)
    config.app = app
    shown_host = "127.0.0.1" if loopback else host
    url = f"http://{shown_host}:{port}/?token={app.url_token()}"
    click.echo(f"bulkdir serve: {url}  (Ctrl-C to stop; 按 Ctrl-C 停止)")
    if not no_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[bound])
    except KeyboardInterrupt:
        pass  # uvicorn raises Ctrl-C again once it has shut down: here it is the way to stop, not an interruption
    finally:
        workspace.close()
        bound.close()
    if server.should_exit:
        click.echo("Stopped. (已停止)", err=True)
    sys.stdout.flush()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the address is printed (so `--port 0` prints the real port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        from bulkdir.errors import ConfigError

        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror or error}",
                          f"无法监听 {host}:{port}：{error.strerror or error}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
