# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_jail_global_optspecs
    string join \n v/verbose q/quiet h/help V/version
end

function __fish_jail_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_jail_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_jail_using_subcommand
    set -l cmd (__fish_jail_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c jail -n "__fish_jail_needs_command" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_needs_command" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jail -n "__fish_jail_needs_command" -s V -l version -d 'Print version'
complete -c jail -n "__fish_jail_needs_command" -f -a "run" -d 'Run COMMAND in a sandbox'
complete -c jail -n "__fish_jail_needs_command" -f -a "check" -d 'Validate profiles; with none, every profile on the search path'
complete -c jail -n "__fish_jail_needs_command" -f -a "explain" -d 'Print the compiled plan and run nothing'
complete -c jail -n "__fish_jail_needs_command" -f -a "list" -d 'List the profiles on the search path'
complete -c jail -n "__fish_jail_needs_command" -f -a "audit" -d 'Exposure score of profiles: 0.0 (locked) … 10.0 (open), per check'
complete -c jail -n "__fish_jail_needs_command" -f -a "doctor" -d 'What this kernel and session support, and how to fix what is missing'
complete -c jail -n "__fish_jail_needs_command" -f -a "desktop" -d 'Install, remove or list .desktop wrappers that launch apps through jail'
complete -c jail -n "__fish_jail_needs_command" -f -a "ps" -d 'List running sandboxes'
complete -c jail -n "__fish_jail_needs_command" -f -a "stop" -d 'Stop a running sandbox: SIGTERM, then SIGKILL to what is left after the grace period'
complete -c jail -n "__fish_jail_needs_command" -f -a "enter" -d 'Run a command inside a running sandbox, with the same restrictions'
complete -c jail -n "__fish_jail_needs_command" -f -a "learn" -d 'Run COMMAND once in a permissive sandbox, record what it used, and write the smallest profile that lets it do the same again'
complete -c jail -n "__fish_jail_needs_command" -f -a "__learn-trace" -d 'Internal: the recorder that `jail learn` starts inside the sandbox'
complete -c jail -n "__fish_jail_needs_command" -f -a "export" -d 'Write the sandbox a profile describes for a container engine: an OCI bundle or a Pod'
complete -c jail -n "__fish_jail_needs_command" -f -a "import" -d 'Convert firejail profiles (the ones installed on this machine) into jail profiles'
complete -c jail -n "__fish_jail_needs_command" -f -a "__complete" -d 'Internal: the words the shell completions offer (profile names, running sandboxes)'
complete -c jail -n "__fish_jail_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jail -n "__fish_jail_using_subcommand run" -s p -l profile -d 'Profile NAME (looked up on the search path) or PATH (contains / or ends in .toml; a PATH must name a .toml file). Default: the profile named after COMMAND when COMMAND is a bare name (found on PATH) or an absolute path only root can change, else `default`' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l net -d 'Network: none (own loopback only) or host' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l bind -d 'Bind a host path read-write (at the same place, or at DST)' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l ro-bind -d 'Bind a host path read-only (at the same place, or at DST)' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l tmpfs -d 'Mount a fresh empty writable folder' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l hide -d 'Mask a path: empty and unreadable' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l env -d 'Set an environment variable' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l unsetenv -d 'Remove an environment variable' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l memory -d 'Memory limit of the whole sandbox (e.g. 512MiB, 2G)' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l cpus -d 'CPU time limit, in CPUs (e.g. 0.5)' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l pids -d 'Maximum number of processes and threads' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l tmp-size -d 'Size of the private /tmp (default 1GiB)' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l shm-size -d 'Size of /dev/shm (default 512MiB)' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l hostname -d 'Host name inside' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l chdir -d 'Working directory inside' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l rootfs -d 'Use a directory (an unpacked container image) as the root, with a throwaway writable layer: changes are kept in memory and dropped when the sandbox ends, the directory itself is never written. With no --profile the built-in `image` profile applies: nothing of the host\'s system is bound, COMMAND is PID 1' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l image -d 'Use a container image from local files as the root: oci:DIR[:TAG] (an OCI image layout, as skopeo copy, podman save --format oci-dir, umoci or buildah push write; TAG is the index\'s ref.name, default: latest or the only image), oci-archive:FILE[:TAG] (the same as one tar) or docker-archive:FILE.tar (as docker save or podman save write). Layers are checked against their digests and unpacked once into $XDG_CACHE_HOME/jail/images (~/.cache/jail/images); the root is used like --rootfs (read-only, with a throwaway writable layer). The image\'s Env, Entrypoint/Cmd, WorkingDir and User apply unless the profile or command line says otherwise; COMMAND is optional and replaces Cmd (Entrypoint is kept), as in docker run. Nothing is downloaded (no network fetch): get an image with your registry client first, e.g. skopeo copy docker://docker.io/library/busybox oci:DIR:latest' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l name -d 'Name of the sandbox for `jail ps`, `stop` and `enter` (default: the profile name and a short id; no control characters or `/`)' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l json-status-fd -d 'Write JSON status lines to this descriptor: one when the sandbox is up, one when it ends' -r
complete -c jail -n "__fish_jail_using_subcommand run" -l format -d 'Output format of --dry-run' -r -f -a "text\t''
json\t''"
complete -c jail -n "__fish_jail_using_subcommand run" -l best-effort -d 'Run even when no cgroup can enforce the limits: hold what rlimits can (RLIMIT_AS for --memory, RLIMIT_NPROC for --pids) and say so; same as [limits] enforce = "best-effort"'
complete -c jail -n "__fish_jail_using_subcommand run" -l init -d 'Put jail\'s init in front of COMMAND as PID 1 (reaps orphans, forwards signals), as `docker run --init` does; same as [process] init = true'
complete -c jail -n "__fish_jail_using_subcommand run" -l dry-run -d 'Print the plan like `explain` and run nothing'
complete -c jail -n "__fish_jail_using_subcommand run" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand run" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand run" -s h -l help -d 'Print help'
complete -c jail -n "__fish_jail_using_subcommand check" -l format -r -f -a "text\t''
json\t''"
complete -c jail -n "__fish_jail_using_subcommand check" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand check" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand check" -s h -l help -d 'Print help'
complete -c jail -n "__fish_jail_using_subcommand explain" -s p -l profile -d 'Profile NAME (looked up on the search path) or PATH (contains / or ends in .toml; a PATH must name a .toml file). Default: the profile named after COMMAND when COMMAND is a bare name (found on PATH) or an absolute path only root can change, else `default`' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l net -d 'Network: none (own loopback only) or host' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l bind -d 'Bind a host path read-write (at the same place, or at DST)' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l ro-bind -d 'Bind a host path read-only (at the same place, or at DST)' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l tmpfs -d 'Mount a fresh empty writable folder' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l hide -d 'Mask a path: empty and unreadable' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l env -d 'Set an environment variable' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l unsetenv -d 'Remove an environment variable' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l memory -d 'Memory limit of the whole sandbox (e.g. 512MiB, 2G)' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l cpus -d 'CPU time limit, in CPUs (e.g. 0.5)' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l pids -d 'Maximum number of processes and threads' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l tmp-size -d 'Size of the private /tmp (default 1GiB)' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l shm-size -d 'Size of /dev/shm (default 512MiB)' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l hostname -d 'Host name inside' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l chdir -d 'Working directory inside' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l rootfs -d 'Use a directory (an unpacked container image) as the root, with a throwaway writable layer: changes are kept in memory and dropped when the sandbox ends, the directory itself is never written. With no --profile the built-in `image` profile applies: nothing of the host\'s system is bound, COMMAND is PID 1' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l image -d 'Use a container image from local files as the root: oci:DIR[:TAG] (an OCI image layout, as skopeo copy, podman save --format oci-dir, umoci or buildah push write; TAG is the index\'s ref.name, default: latest or the only image), oci-archive:FILE[:TAG] (the same as one tar) or docker-archive:FILE.tar (as docker save or podman save write). Layers are checked against their digests and unpacked once into $XDG_CACHE_HOME/jail/images (~/.cache/jail/images); the root is used like --rootfs (read-only, with a throwaway writable layer). The image\'s Env, Entrypoint/Cmd, WorkingDir and User apply unless the profile or command line says otherwise; COMMAND is optional and replaces Cmd (Entrypoint is kept), as in docker run. Nothing is downloaded (no network fetch): get an image with your registry client first, e.g. skopeo copy docker://docker.io/library/busybox oci:DIR:latest' -r
complete -c jail -n "__fish_jail_using_subcommand explain" -l format -r -f -a "text\t''
json\t''"
complete -c jail -n "__fish_jail_using_subcommand explain" -l best-effort -d 'Run even when no cgroup can enforce the limits: hold what rlimits can (RLIMIT_AS for --memory, RLIMIT_NPROC for --pids) and say so; same as [limits] enforce = "best-effort"'
complete -c jail -n "__fish_jail_using_subcommand explain" -l init -d 'Put jail\'s init in front of COMMAND as PID 1 (reaps orphans, forwards signals), as `docker run --init` does; same as [process] init = true'
complete -c jail -n "__fish_jail_using_subcommand explain" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand explain" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand explain" -s h -l help -d 'Print help'
complete -c jail -n "__fish_jail_using_subcommand list" -l format -r -f -a "text\t''
json\t''"
complete -c jail -n "__fish_jail_using_subcommand list" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand list" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand list" -s h -l help -d 'Print help'
complete -c jail -n "__fish_jail_using_subcommand audit" -l threshold -d 'Exit 1 when a profile scores above N' -r
complete -c jail -n "__fish_jail_using_subcommand audit" -l format -r -f -a "text\t''
json\t''"
complete -c jail -n "__fish_jail_using_subcommand audit" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand audit" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand audit" -s h -l help -d 'Print help'
complete -c jail -n "__fish_jail_using_subcommand doctor" -l format -r -f -a "text\t''
json\t''"
complete -c jail -n "__fish_jail_using_subcommand doctor" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand doctor" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c jail -n "__fish_jail_using_subcommand desktop" -s p -l profile -d 'install: the profile the wrappers run (a name on the search path, or an absolute path to a .toml file); default: the profile named after each APP' -r
complete -c jail -n "__fish_jail_using_subcommand desktop" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand desktop" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand desktop" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jail -n "__fish_jail_using_subcommand ps" -l format -r -f -a "text\t''
json\t''"
complete -c jail -n "__fish_jail_using_subcommand ps" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand ps" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand ps" -s h -l help -d 'Print help'
complete -c jail -n "__fish_jail_using_subcommand stop" -l timeout -d 'Seconds between SIGTERM and SIGKILL' -r
complete -c jail -n "__fish_jail_using_subcommand stop" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand stop" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand stop" -s h -l help -d 'Print help'
complete -c jail -n "__fish_jail_using_subcommand enter" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand enter" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand enter" -s h -l help -d 'Print help'
complete -c jail -n "__fish_jail_using_subcommand learn" -s p -l profile -d 'The profile the learned one starts from (it is included, and only what it lacks is granted); default: the shared pieces base, network, x11 … that cover what was seen' -r
complete -c jail -n "__fish_jail_using_subcommand learn" -s o -l out -d 'Where to write the learned profile' -r
complete -c jail -n "__fish_jail_using_subcommand learn" -l timeout -d 'Stop COMMAND (and everything it started) after this many seconds and write what was recorded until then' -r
complete -c jail -n "__fish_jail_using_subcommand learn" -l force -d 'Replace FILE when it exists'
complete -c jail -n "__fish_jail_using_subcommand learn" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand learn" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand learn" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jail -n "__fish_jail_using_subcommand __learn-trace" -l timeout -r
complete -c jail -n "__fish_jail_using_subcommand __learn-trace" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand __learn-trace" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand __learn-trace" -s h -l help -d 'Print help'
complete -c jail -n "__fish_jail_using_subcommand export; and not __fish_seen_subcommand_from oci kubernetes help" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand export; and not __fish_seen_subcommand_from oci kubernetes help" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand export; and not __fish_seen_subcommand_from oci kubernetes help" -s h -l help -d 'Print help'
complete -c jail -n "__fish_jail_using_subcommand export; and not __fish_seen_subcommand_from oci kubernetes help" -f -a "oci" -d 'Write DIR/config.json: an OCI runtime bundle that `runc run --bundle DIR` or `crun run --bundle DIR` starts, with the profile\'s namespaces, id maps, mounts, rlimits, capabilities, no_new_privs, seccomp filter and cgroup limits'
complete -c jail -n "__fish_jail_using_subcommand export; and not __fish_seen_subcommand_from oci kubernetes help" -f -a "kubernetes" -d 'Write DIR/PROFILE.yaml (a Pod) and DIR/PROFILE-seccomp.json (its Localhost seccomp profile, to copy to the kubelet\'s seccomp folder as jail/PROFILE-seccomp.json)'
complete -c jail -n "__fish_jail_using_subcommand export; and not __fish_seen_subcommand_from oci kubernetes help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -s p -l profile -d 'Profile NAME (looked up on the search path) or PATH (contains / or ends in .toml; a PATH must name a .toml file). Default: the profile named after COMMAND when COMMAND is a bare name (found on PATH) or an absolute path only root can change, else `default`' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l net -d 'Network: none (own loopback only) or host' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l bind -d 'Bind a host path read-write (at the same place, or at DST)' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l ro-bind -d 'Bind a host path read-only (at the same place, or at DST)' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l tmpfs -d 'Mount a fresh empty writable folder' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l hide -d 'Mask a path: empty and unreadable' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l env -d 'Set an environment variable' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l unsetenv -d 'Remove an environment variable' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l memory -d 'Memory limit of the whole sandbox (e.g. 512MiB, 2G)' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l cpus -d 'CPU time limit, in CPUs (e.g. 0.5)' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l pids -d 'Maximum number of processes and threads' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l tmp-size -d 'Size of the private /tmp (default 1GiB)' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l shm-size -d 'Size of /dev/shm (default 512MiB)' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l hostname -d 'Host name inside' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l chdir -d 'Working directory inside' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l rootfs -d 'Use a directory (an unpacked container image) as the root, with a throwaway writable layer: changes are kept in memory and dropped when the sandbox ends, the directory itself is never written. With no --profile the built-in `image` profile applies: nothing of the host\'s system is bound, COMMAND is PID 1' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l image -d 'Use a container image from local files as the root: oci:DIR[:TAG] (an OCI image layout, as skopeo copy, podman save --format oci-dir, umoci or buildah push write; TAG is the index\'s ref.name, default: latest or the only image), oci-archive:FILE[:TAG] (the same as one tar) or docker-archive:FILE.tar (as docker save or podman save write). Layers are checked against their digests and unpacked once into $XDG_CACHE_HOME/jail/images (~/.cache/jail/images); the root is used like --rootfs (read-only, with a throwaway writable layer). The image\'s Env, Entrypoint/Cmd, WorkingDir and User apply unless the profile or command line says otherwise; COMMAND is optional and replaces Cmd (Entrypoint is kept), as in docker run. Nothing is downloaded (no network fetch): get an image with your registry client first, e.g. skopeo copy docker://docker.io/library/busybox oci:DIR:latest' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l bundle -d 'The bundle folder (created if missing; config.json and rootfs/ are written in it; an existing rootfs/ or files/ must be an empty real folder, not a symlink)' -r -F
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l best-effort -d 'Run even when no cgroup can enforce the limits: hold what rlimits can (RLIMIT_AS for --memory, RLIMIT_NPROC for --pids) and say so; same as [limits] enforce = "best-effort"'
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -l init -d 'Put jail\'s init in front of COMMAND as PID 1 (reaps orphans, forwards signals), as `docker run --init` does; same as [process] init = true'
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -s h -l help -d 'Print help'
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s p -l profile -d 'Profile NAME (looked up on the search path) or PATH (contains / or ends in .toml; a PATH must name a .toml file). Default: the profile named after COMMAND when COMMAND is a bare name (found on PATH) or an absolute path only root can change, else `default`' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l net -d 'Network: none (own loopback only) or host' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l bind -d 'Bind a host path read-write (at the same place, or at DST)' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l ro-bind -d 'Bind a host path read-only (at the same place, or at DST)' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l tmpfs -d 'Mount a fresh empty writable folder' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l hide -d 'Mask a path: empty and unreadable' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l env -d 'Set an environment variable' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l unsetenv -d 'Remove an environment variable' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l memory -d 'Memory limit of the whole sandbox (e.g. 512MiB, 2G)' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l cpus -d 'CPU time limit, in CPUs (e.g. 0.5)' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l pids -d 'Maximum number of processes and threads' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l tmp-size -d 'Size of the private /tmp (default 1GiB)' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l shm-size -d 'Size of /dev/shm (default 512MiB)' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l hostname -d 'Host name inside' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l chdir -d 'Working directory inside' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l rootfs -d 'Use a directory (an unpacked container image) as the root, with a throwaway writable layer: changes are kept in memory and dropped when the sandbox ends, the directory itself is never written. With no --profile the built-in `image` profile applies: nothing of the host\'s system is bound, COMMAND is PID 1' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l image -d 'Use a container image from local files as the root: oci:DIR[:TAG] (an OCI image layout, as skopeo copy, podman save --format oci-dir, umoci or buildah push write; TAG is the index\'s ref.name, default: latest or the only image), oci-archive:FILE[:TAG] (the same as one tar) or docker-archive:FILE.tar (as docker save or podman save write). Layers are checked against their digests and unpacked once into $XDG_CACHE_HOME/jail/images (~/.cache/jail/images); the root is used like --rootfs (read-only, with a throwaway writable layer). The image\'s Env, Entrypoint/Cmd, WorkingDir and User apply unless the profile or command line says otherwise; COMMAND is optional and replaces Cmd (Entrypoint is kept), as in docker run. Nothing is downloaded (no network fetch): get an image with your registry client first, e.g. skopeo copy docker://docker.io/library/busybox oci:DIR:latest' -r
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l out -d 'The folder the manifest and the seccomp profile are written to (created if missing)' -r -F
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l best-effort -d 'Run even when no cgroup can enforce the limits: hold what rlimits can (RLIMIT_AS for --memory, RLIMIT_NPROC for --pids) and say so; same as [limits] enforce = "best-effort"'
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -l init -d 'Put jail\'s init in front of COMMAND as PID 1 (reaps orphans, forwards signals), as `docker run --init` does; same as [process] init = true'
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s h -l help -d 'Print help'
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "oci" -d 'Write DIR/config.json: an OCI runtime bundle that `runc run --bundle DIR` or `crun run --bundle DIR` starts, with the profile\'s namespaces, id maps, mounts, rlimits, capabilities, no_new_privs, seccomp filter and cgroup limits'
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "kubernetes" -d 'Write DIR/PROFILE.yaml (a Pod) and DIR/PROFILE-seccomp.json (its Localhost seccomp profile, to copy to the kubelet\'s seccomp folder as jail/PROFILE-seccomp.json)'
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jail -n "__fish_jail_using_subcommand import" -l out -d 'The folder NAME.toml files are written to (default: the user\'s profile folder)' -r -F
complete -c jail -n "__fish_jail_using_subcommand import" -l firejail-dir -d 'The system\'s firejail folder (default /etc/firejail)' -r -F
complete -c jail -n "__fish_jail_using_subcommand import" -l all -d 'Convert every .profile of /etc/firejail'
complete -c jail -n "__fish_jail_using_subcommand import" -l force -d 'Replace NAME.toml when it exists (else that profile is refused), and write a profile named like one of jail\'s own under that name (else as firejail-NAME.toml)'
complete -c jail -n "__fish_jail_using_subcommand import" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand import" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jail -n "__fish_jail_using_subcommand __complete" -s v -l verbose -d 'Print each setup step as it happens, and the refusal report (the system calls the sandbox refused, with the profile lines that allow them) even when COMMAND succeeds'
complete -c jail -n "__fish_jail_using_subcommand __complete" -s q -l quiet -d 'Print only errors (no refusal report)'
complete -c jail -n "__fish_jail_using_subcommand __complete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "run" -d 'Run COMMAND in a sandbox'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "check" -d 'Validate profiles; with none, every profile on the search path'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "explain" -d 'Print the compiled plan and run nothing'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "list" -d 'List the profiles on the search path'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "audit" -d 'Exposure score of profiles: 0.0 (locked) … 10.0 (open), per check'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "doctor" -d 'What this kernel and session support, and how to fix what is missing'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "desktop" -d 'Install, remove or list .desktop wrappers that launch apps through jail'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "ps" -d 'List running sandboxes'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "stop" -d 'Stop a running sandbox: SIGTERM, then SIGKILL to what is left after the grace period'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "enter" -d 'Run a command inside a running sandbox, with the same restrictions'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "learn" -d 'Run COMMAND once in a permissive sandbox, record what it used, and write the smallest profile that lets it do the same again'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "__learn-trace" -d 'Internal: the recorder that `jail learn` starts inside the sandbox'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "export" -d 'Write the sandbox a profile describes for a container engine: an OCI bundle or a Pod'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "import" -d 'Convert firejail profiles (the ones installed on this machine) into jail profiles'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "__complete" -d 'Internal: the words the shell completions offer (profile names, running sandboxes)'
complete -c jail -n "__fish_jail_using_subcommand help; and not __fish_seen_subcommand_from run check explain list audit doctor desktop ps stop enter learn __learn-trace export import __complete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jail -n "__fish_jail_using_subcommand help; and __fish_seen_subcommand_from export" -f -a "oci" -d 'Write DIR/config.json: an OCI runtime bundle that `runc run --bundle DIR` or `crun run --bundle DIR` starts, with the profile\'s namespaces, id maps, mounts, rlimits, capabilities, no_new_privs, seccomp filter and cgroup limits'
complete -c jail -n "__fish_jail_using_subcommand help; and __fish_seen_subcommand_from export" -f -a "kubernetes" -d 'Write DIR/PROFILE.yaml (a Pod) and DIR/PROFILE-seccomp.json (its Localhost seccomp profile, to copy to the kubelet\'s seccomp folder as jail/PROFILE-seccomp.json)'

# jail's own: profile names and running sandboxes, asked of `jail __complete` at TAB.
function __fish_jail_words
    command jail __complete $argv[1] 2>/dev/null
end
complete -c jail -n "__fish_jail_using_subcommand run" -s p -l profile -r -a "(__fish_jail_words profiles)"
complete -c jail -n "__fish_jail_using_subcommand check" -a "(__fish_jail_words profiles)"
complete -c jail -n "__fish_jail_using_subcommand explain" -s p -l profile -r -a "(__fish_jail_words profiles)"
complete -c jail -n "__fish_jail_using_subcommand audit" -a "(__fish_jail_words profiles)"
complete -c jail -n "__fish_jail_using_subcommand desktop" -s p -l profile -r -a "(__fish_jail_words profiles)"
complete -c jail -n "__fish_jail_using_subcommand stop" -a "(__fish_jail_words sandboxes)"
complete -c jail -n "__fish_jail_using_subcommand enter" -a "(__fish_jail_words sandboxes)"
complete -c jail -n "__fish_jail_using_subcommand learn" -s p -l profile -r -a "(__fish_jail_words profiles)"
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from oci" -s p -l profile -r -a "(__fish_jail_words profiles)"
complete -c jail -n "__fish_jail_using_subcommand export; and __fish_seen_subcommand_from kubernetes" -s p -l profile -r -a "(__fish_jail_words profiles)"
