"""`podbay`'s command line: a sub-command per verb, each with --json, and what runs it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

from podbay.tui.cli import attach_verbs, identity_verbs, prebuild_verbs, provider, verbs

if TYPE_CHECKING:
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    """Every verb; they are added in the order `podbay --help` lists them."""
    parser = argparse.ArgumentParser(
        prog="podbay",
        description="Development workspaces from devcontainer.json. Without a command: the TUI.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _up(sub)
    _lifecycle(sub)
    _logs_and_exec(sub)
    _prebuild(sub)
    _verb(sub, "templates", verbs.cmd_templates, "list the bundled quick-start templates")
    _ssh_and_forward(sub)
    _setup(sub)
    _provider(sub)
    return parser


def _verb(
    sub: Subcommands,
    name: str,
    func: Callable[[argparse.Namespace], int],
    help: str,
    **kw: Any,
) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help, **kw)
    # An action of a verb (`secret list`) keeps its verb's --json (`secret --json list`).
    nested = sub.dest not in (None, "command")
    default = argparse.SUPPRESS if nested else False
    p.add_argument(
        "--json", action="store_true", default=default, help="machine-readable output on stdout"
    )
    p.set_defaults(func=func)
    return p


def _up(sub: Subcommands) -> None:
    p = _verb(
        sub,
        "up",
        verbs.cmd_up,
        "create or start a workspace from a folder, git URL, image or template",
    )
    p.add_argument("source", nargs="?", help="folder, git URL[@ref], image, template, or a name")
    p.add_argument("--name", help="workspace name (default: from the source)")
    p.add_argument("--provider", help="provider to create it on (default: the default provider)")
    p.add_argument("--config", help="devcontainer.json to use when a folder has several")
    p.add_argument("--image", help="use this image instead of a devcontainer.json")
    p.add_argument(
        "--rebuild",
        "--recreate",
        dest="rebuild",
        action="store_true",
        help="rebuild the image and recreate the container (the source and named volumes stay)",
    )
    p.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="allow what a cloned repository or an image asks beyond its container "
        "(initializeCommand on this computer, privileges, host paths); remembered",
    )
    p.add_argument(
        "--no-dotfiles",
        action="store_true",
        help="a new container goes without your dotfiles (podbay dotfiles)",
    )
    p.add_argument(
        "--count",
        type=int,
        metavar="N",
        help="a room: N workspaces of the source, named by --prefix (PREFIX01..)",
    )
    p.add_argument("--prefix", metavar="PREFIX", help="the room's name, e.g. ws- (with --count)")
    p.add_argument(
        "--prebuild",
        metavar="REGISTRY/NAME",
        help="start from this config's prebuild in that repository when there is one "
        "(default: the config's customizations.podbay.prebuild)",
    )
    p.add_argument(
        "--no-git-root",
        dest="git_root",
        action="store_false",
        help="a new workspace of a folder inside a git repository mounts the folder alone, "
        "not the repository (the reference CLI's --mount-workspace-git-root false)",
    )


def _prebuild(sub: Subcommands) -> None:
    p = _verb(
        sub,
        "prebuild",
        prebuild_verbs.cmd_prebuild,
        "build a source's image once and push it; up of the same config pulls it",
    )
    p.add_argument("source", nargs="?", help="folder or git URL with a devcontainer.json")
    p.add_argument("--push", metavar="REGISTRY/NAME", help="the repository to push it to")
    p.add_argument("--config", help="devcontainer.json to use when a folder has several")
    p.add_argument(
        "--provider", help="the AWS provider whose login pushes to its account's ECR registry"
    )
    p.add_argument(
        "--create-repository",
        action="store_true",
        help="make the ECR repository when missing (scan on push, the newest 20 kept)",
    )
    p.add_argument(
        "--list",
        nargs="?",
        const="",
        metavar="REGISTRY/NAME",
        help="list the prebuilds of a repository (default: those pushed to from here)",
    )


def _lifecycle(sub: Subcommands) -> None:
    """list, status, start, stop, delete."""
    _verb(sub, "list", verbs.cmd_list, "list workspaces with live status", aliases=["ls"])
    p = _verb(sub, "status", verbs.cmd_status, "show one workspace")
    p.add_argument("name")
    p = _verb(sub, "start", verbs.cmd_start, "start a stopped workspace (reruns postStartCommand)")
    p.add_argument("name")
    p = _verb(sub, "stop", verbs.cmd_stop, "stop a workspace's container")
    p.add_argument("name")
    p = _verb(
        sub,
        "sync",
        verbs.cmd_sync,
        "bring back what changed in a workspace's copy of your folder on its machine",
    )
    p.add_argument("name")
    p.add_argument(
        "--force", action="store_true", help="also files changed here too (the machine's win)"
    )
    p.add_argument(
        "--watch",
        action="store_true",
        help="keep syncing both ways (yours go to the machine too) until Ctrl-C",
    )
    p = _verb(
        sub,
        "delete",
        verbs.cmd_delete,
        "delete a workspace (never your own source folder)",
        aliases=["rm"],
    )
    p.add_argument("name", nargs="?")
    p.add_argument("--prefix", metavar="PREFIX", help="every workspace of room PREFIX (up --count)")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--force",
        action="store_true",
        help="delete even when work in podbay's copy of the source would be lost, or the "
        "provider cannot be reached",
    )


def _logs_and_exec(sub: Subcommands) -> None:
    p = _verb(
        sub, "logs", attach_verbs.cmd_logs, "show a workspace's log (podbay's operations and hooks)"
    )
    p.add_argument("name")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    p.add_argument("--container", action="store_true", help="the container's own output instead")
    p = _verb(
        sub,
        "exec",
        attach_verbs.cmd_exec,
        "run a command in a workspace: podbay exec NAME -- CMD...",
    )
    p.add_argument("name")
    p.add_argument("cmd", nargs=argparse.REMAINDER)


def _ssh_and_forward(sub: Subcommands) -> None:
    p = _verb(
        sub,
        "ssh",
        attach_verbs.cmd_ssh,
        "open a shell in a workspace, or run a command: podbay ssh NAME -- CMD",
    )
    p.add_argument("name")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.add_argument("--stdio", action="store_true", help="speak SSH on stdin/stdout (ProxyCommand)")
    p.add_argument("-t", dest="force_tty", action="store_true", help="a terminal for a command too")
    p = _verb(
        sub,
        "forward",
        attach_verbs.cmd_forward,
        "forward ports to localhost: podbay forward NAME PORT[:LOCAL]",
    )
    p.add_argument("name")
    p.add_argument("ports", nargs="*", help="PORT or PORT:LOCAL (default: forwardPorts)")


def _setup(sub: Subcommands) -> None:
    """ssh-config, code, doctor."""
    p = _verb(
        sub,
        "ssh-config",
        attach_verbs.cmd_ssh_config,
        "let `ssh NAME.podbay` work from any terminal",
    )
    p.add_argument("action", choices=["install", "uninstall", "show"])
    p = _verb(
        sub,
        "code",
        attach_verbs.cmd_code,
        "open the workspace's IDE on it (VS Code unless chosen otherwise: podbay ide)",
    )
    p.add_argument("name")
    p.add_argument("--ide", help="this IDE this time: vscode, insiders, cursor, jetbrains")
    p = _verb(
        sub,
        "ide",
        attach_verbs.cmd_ide,
        "show or choose a workspace's IDE (vscode, insiders, cursor, jetbrains, none), "
        "or the default",
    )
    p.add_argument("name", nargs="?", help="the workspace; none: the default")
    p.add_argument("ide", nargs="?", help="the IDE to use; `default`: the default again")
    p.add_argument("--default", dest="set_default", metavar="IDE", help="the default IDE")
    p = _verb(
        sub,
        "dotfiles",
        identity_verbs.cmd_dotfiles,
        "show or set the dotfiles repository installed in new containers, for all or one",
    )
    p.add_argument("name", nargs="?", help="the workspace; none: the default for all")
    p.add_argument(
        "--set",
        metavar="URL",
        help="a git URL or folder; `none`: no dotfiles; `default`: the workspace follows "
        "the default again",
    )
    p.add_argument(
        "--install",
        metavar="COMMAND",
        help="a file of the repository or a command line (default: install.sh, setup, ... "
        "or links to its dotfiles)",
    )
    p.add_argument(
        "--timeout",
        type=int,
        metavar="SECONDS",
        help="stop an install that takes longer (default 600)",
    )
    p = _verb(
        sub,
        "secret",
        identity_verbs.cmd_secret,
        "keep secrets for workspaces' hooks and sessions (set, list, rm)",
    )
    actions = p.add_subparsers(dest="secret_command", metavar="ACTION")
    for action, title in (
        ("set", "set a secret: its value from stdin (or asked), or --ref"),
        ("list", "list secrets (names and where they are, never values)"),
        ("rm", "remove a secret"),
    ):
        q = _verb(actions, action, identity_verbs.cmd_secret, title)
        if action != "list":
            q.add_argument("name", help="its environment variable's name, e.g. DB_PASSWORD")
        q.add_argument("--workspace", "-w", help="this workspace's own (default: every one)")
        if action == "set":
            q.add_argument(
                "--ref",
                metavar="REF",
                help="ssm:/PATH/NAME or secretsmanager:NAME, read when used, never kept",
            )
            q.add_argument("--provider", help="the AWS provider that reads --ref")
    p.add_argument("--workspace", "-w", help=argparse.SUPPRESS)
    p = _verb(
        sub,
        "git-hosts",
        identity_verbs.cmd_git_hosts,
        "show or widen the HTTPS hosts whose credentials git gets in `podbay ssh` sessions",
    )
    p.add_argument("name")
    p.add_argument("--add", action="append", metavar="HOST", help="HOST, HOST:PORT or URL")
    p.add_argument("--remove", action="append", metavar="HOST", help="a host added before")
    p = _verb(
        sub,
        "doctor",
        verbs.cmd_doctor,
        "check podbay's state; repair it from containers and sources",
    )
    p.add_argument(
        "--rebuild-state",
        action="store_true",
        help="set podbay.db aside (kept) and make the records again from the containers' "
        "labels, the sources folder and the keys; nothing is deleted",
    )


def _provider(sub: Subcommands) -> None:
    p = _verb(
        sub,
        "provider",
        provider.cmd_provider_list,
        "manage providers (list, add, set, remove, use, check, policy, gc)",
    )
    actions = p.add_subparsers(dest="provider_command", metavar="ACTION")
    _verb(actions, "list", provider.cmd_provider_list, "list providers")
    q = _verb(
        actions,
        "add",
        provider.cmd_provider_add,
        "add a provider: podbay provider add TYPE [--name N]",
    )
    q.add_argument("type", help="provider type (docker, aws, ssh)")
    q.add_argument("--name", help="provider name (default: the type)")
    q.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE")
    q.add_argument("--use", action="store_true", help="make it the default provider")
    q.add_argument("--no-check", action="store_true", help="skip the connection test")
    q.add_argument(
        "--yes", "-y", action="store_true", help="accept an SSH machine's host key as shown"
    )
    q = _verb(
        actions,
        "set",
        provider.cmd_provider_set,
        "change options: podbay provider set NAME KEY=VALUE...",
    )
    q.add_argument("name")
    q.add_argument("options", nargs="+", metavar="KEY=VALUE")
    q = _verb(
        actions, "remove", provider.cmd_provider_remove, "remove a provider that no workspace uses"
    )
    q.add_argument("name")
    q = _verb(
        actions, "use", provider.cmd_provider_use, "make a provider the default for new workspaces"
    )
    q.add_argument("name")
    q = _verb(
        actions,
        "check",
        provider.cmd_provider_check,
        "test a provider's connection; --deep: would `up` work (creates nothing)",
    )
    q.add_argument("name", help="the provider (its name, or its type when there is one)")
    q.add_argument("--deep", action="store_true", help="ask everything `up` will need")
    q = _verb(
        actions,
        "policy",
        provider.cmd_provider_policy,
        "print the IAM policy a provider (or type) needs: podbay provider policy aws",
    )
    q.add_argument("name", help="a provider's name, or a type (aws)")
    q.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE")
    q.add_argument(
        "--instance-role",
        action="store_true",
        help="the policy of its VMs' instance role instead (secrets_on_vm: the secrets they read)",
    )
    q.add_argument(
        "--prebuilds",
        action="store_true",
        help="with what pushing prebuilds to the account's ECR needs (podbay prebuild)",
    )
    q = _verb(
        actions,
        "gc",
        provider.cmd_provider_gc,
        "list (--yes: remove) AWS resources no workspace owns",
    )
    q.add_argument("name", help="the AWS provider (its name, or `aws` when there is one)")
    q.add_argument("--yes", action="store_true", help="remove what is listed")
    q.add_argument("--any-home", action="store_true", help="also other podbay homes' leftovers")
