"""Bazel rules for bpfstar: build eBPF objects from Starlark program files.

    load("//bazel:defs.bzl", "bpf_go_bindings", "bpf_library", "bpf_object", "bpf_test")

    bpf_library(
        name = "regs",
        srcs = ["regs.star"],
    )

    bpf_object(
        name = "prog",  # builds prog.o
        src = "prog.star",
        deps = [":regs"],
        data = ["vmlinux.btf"],  # what btf_types(":vmlinux.btf") reads
    )

Each bpf_object runs `bpfstar build -o <name>.o SRC` as one action whose
only inputs are the bpfstar binary, SRC, the library files it may load()
(srcs, and deps with their own deps), the data files it reads (data: the
BTF files of btf_types()) and the workspace marker, so in a sandbox
(--spawn_strategy=linux-sandbox) an undeclared library or BTF file is an
error, not a silent dependency. bpfstar's output depends on nothing else: the
object built here is byte-identical to `bpfstar build SRC` in the source tree.

The bpfstar binary is the target //:bpfstar of the workspace, unless the
`bpfstar` attribute names another: an alias to a go_binary, a prebuilt
binary checked in or fetched by a repository rule, or anything executable.
(Bazel 4 cannot run a source file at the root of the workspace as a tool, so
keep a prebuilt binary in a subpackage and alias it at the root.)

In a program file, load("//pkg:file.star", ...) resolves against the root
of the bpfstar workspace, the directory that holds the file
bpfstar.workspace, and the object names its files by their paths relative to
that root. So the marker is an input of every action: by default the file
//:bpfstar.workspace, which must exist (an empty file) and be exported,
exports_files(["bpfstar.workspace"]) in the root BUILD file. A bpfstar
workspace in a subdirectory sets `workspace_marker = "//sub:bpfstar.workspace"`.
"""

BpfLibraryInfo = provider(
    doc = "Starlark library files that bpfstar programs may load().",
    fields = {"srcs": "depset of .star files, this library's and its deps'"},
)

def _library_files(srcs, deps):
    return depset(
        srcs,
        transitive = [
            d[BpfLibraryInfo].srcs if BpfLibraryInfo in d else d[DefaultInfo].files
            for d in deps
        ],
    )

def _bpf_library_impl(ctx):
    files = _library_files(ctx.files.srcs, ctx.attr.deps)
    return [
        BpfLibraryInfo(srcs = files),
        DefaultInfo(files = files),
    ]

bpf_library = rule(
    implementation = _bpf_library_impl,
    doc = "A set of bpfstar library files (.star), with the libraries they load().",
    attrs = {
        "srcs": attr.label_list(
            allow_files = [".star"],
            doc = "The library files.",
        ),
        "deps": attr.label_list(
            allow_files = [".star"],
            doc = "Libraries that srcs load(): bpf_library targets, .star files or filegroups of them.",
        ),
    },
)

def _bpf_object_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".o")
    libs = _library_files(ctx.files.srcs, ctx.attr.deps)
    direct = [ctx.file.src]
    if ctx.file.workspace_marker:
        direct.append(ctx.file.workspace_marker)

    args = ctx.actions.args()
    args.add("build")
    args.add("-o", out)
    if ctx.attr.max_steps:
        args.add("--max-steps", str(ctx.attr.max_steps))
    args.add("--")
    args.add(ctx.file.src)

    ctx.actions.run(
        executable = ctx.executable.bpfstar,
        arguments = [args],
        inputs = depset(direct + ctx.files.data, transitive = [libs]),
        outputs = [out],
        mnemonic = "BpfstarBuild",
        progress_message = "Building eBPF object %s" % out.short_path,
    )
    return [DefaultInfo(files = depset([out]))]

_data_attr = attr.label_list(
    allow_files = True,
    doc = "Data files the program reads: the BTF files btf_types() names (a copy of /sys/kernel/btf/vmlinux, or a smaller one).",
)

bpf_object = rule(
    implementation = _bpf_object_impl,
    doc = "Builds <name>.o from a bpfstar program file with `bpfstar build`.",
    attrs = {
        "src": attr.label(
            allow_single_file = [".star"],
            mandatory = True,
            doc = "The program file.",
        ),
        "srcs": attr.label_list(
            allow_files = [".star"],
            doc = "Library files the program load()s.",
        ),
        "deps": attr.label_list(
            allow_files = [".star"],
            doc = "Libraries the program load()s: bpf_library targets, .star files or filegroups of them.",
        ),
        "data": _data_attr,
        "max_steps": attr.int(
            doc = "bpfstar build --max-steps; 0 keeps bpfstar's default.",
        ),
        "workspace_marker": attr.label(
            allow_single_file = True,
            default = "//:bpfstar.workspace",
            doc = "The bpfstar.workspace file that marks the root load() labels resolve against.",
        ),
        "bpfstar": attr.label(
            executable = True,
            allow_files = True,
            cfg = "exec",
            default = "//:bpfstar",
            doc = "The bpfstar binary.",
        ),
    },
)

def _bpf_go_bindings_impl(ctx):
    go = ctx.actions.declare_file(ctx.label.name + "_bpfel.go")
    obj = ctx.actions.declare_file(ctx.label.name + "_bpfel.o")

    args = ctx.actions.args()
    args.add("gen")
    args.add("go")
    args.add("--package", ctx.attr.package)
    if ctx.attr.stem:
        args.add("--stem", ctx.attr.stem)
    for t in ctx.attr.types:
        args.add("--type", t)
    args.add("-o", go)
    args.add("--")
    args.add(ctx.file.object)

    ctx.actions.run(
        executable = ctx.executable.bpfstar,
        arguments = [args],
        inputs = [ctx.file.object],
        outputs = [go, obj],
        mnemonic = "BpfstarGenGo",
        progress_message = "Writing Go bindings %s" % go.short_path,
    )
    return [
        DefaultInfo(files = depset([go, obj])),
        OutputGroupInfo(go = depset([go]), object = depset([obj])),
    ]

bpf_go_bindings = rule(
    implementation = _bpf_go_bindings_impl,
    doc = """Writes Go bindings for an object with `bpfstar gen go`.

    bpf_go_bindings(
        name = "prog_go",  # writes prog_go_bpfel.go and prog_go_bpfel.o
        object = ":prog",  # a bpf_object, or any .o
        package = "prog",
        types = ["syn_event"],  # optional: more BTF types to declare (gen go --type)
    )

The Go file embeds the object beside it (//go:embed prog_go_bpfel.o). The
output groups "go" and "object" hold each: give them to a go_library as
srcs and embedsrcs, through filegroup(output_group = ...).""",
    attrs = {
        "object": attr.label(
            allow_single_file = [".o"],
            mandatory = True,
            doc = "The object: a bpf_object target or an object file.",
        ),
        "package": attr.string(
            mandatory = True,
            doc = "The Go package name of the bindings.",
        ),
        "stem": attr.string(
            doc = "The prefix of the top-level Go names; default: from the object's file name (prog.o: prog).",
        ),
        "types": attr.string_list(
            doc = "More BTF types to declare in Go, as `bpfstar gen go --type`: a ring buffer's event struct (\"syn_event\"), say.",
        ),
        "bpfstar": attr.label(
            executable = True,
            allow_files = True,
            cfg = "exec",
            default = "//:bpfstar",
            doc = "The bpfstar binary.",
        ),
    },
)

def _shell_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"

def _bpf_test_impl(ctx):
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    libs = _library_files(ctx.files.srcs, ctx.attr.deps)
    flags = ""
    if ctx.attr.max_steps:
        flags += " --max-steps %d" % ctx.attr.max_steps
    if not ctx.attr.allow_skips:
        flags += " --noskip"

    # The test runs in its runfiles tree, which mirrors the workspace:
    # bpfstar finds bpfstar.workspace above the test file there. Bazel
    # caches test results itself, so bpfstar's cache is off.
    ctx.actions.write(
        output = script,
        content = "#!/bin/sh\nexec {bpfstar} test --nocache{flags} ${{XML_OUTPUT_FILE:+--junit \"$XML_OUTPUT_FILE\"}} -- {src}\n".format(
            bpfstar = _shell_quote(ctx.executable.bpfstar.short_path),
            flags = flags,
            src = _shell_quote(ctx.file.src.short_path),
        ),
        is_executable = True,
    )
    files = [ctx.executable.bpfstar, ctx.file.src] + ctx.files.data
    if ctx.file.workspace_marker:
        files.append(ctx.file.workspace_marker)
    runfiles = ctx.runfiles(files = files, transitive_files = libs)
    return [DefaultInfo(executable = script, runfiles = runfiles)]

_bpf_test = rule(
    implementation = _bpf_test_impl,
    test = True,
    doc = """Runs the test() cases of a bpfstar test file with `bpfstar test`.

    bpf_test(
        name = "prog_test",
        src = "prog_test.star",  # load()s prog.star
        srcs = ["prog.star"],
    )

The program file the test file loads is a library of the test: list it in
srcs (or deps). The test loads programs into the kernel, so it needs root
(or CAP_BPF) where Bazel runs it; a case that cannot run fails the test
unless allow_skips = True. The JUnit report goes where Bazel asks.""",
    attrs = {
        "src": attr.label(
            allow_single_file = [".star"],
            mandatory = True,
            doc = "The test file.",
        ),
        "srcs": attr.label_list(
            allow_files = [".star"],
            doc = "Files the test file load()s: the program file it tests, libraries.",
        ),
        "deps": attr.label_list(
            allow_files = [".star"],
            doc = "Libraries the test file load()s: bpf_library targets, .star files or filegroups of them.",
        ),
        "data": _data_attr,
        "max_steps": attr.int(
            doc = "bpfstar test --max-steps; 0 keeps bpfstar's default.",
        ),
        "allow_skips": attr.bool(
            doc = "Pass when cases could not run (no root, a program type BPF_PROG_TEST_RUN does not run); by default they fail the test.",
        ),
        "workspace_marker": attr.label(
            allow_single_file = True,
            default = "//:bpfstar.workspace",
            doc = "The bpfstar.workspace file that marks the root load() labels resolve against.",
        ),
        "bpfstar": attr.label(
            executable = True,
            allow_files = True,
            cfg = "target",
            default = "//:bpfstar",
            doc = "The bpfstar binary.",
        ),
    },
)

def bpf_test(name, tags = [], **kwargs):
    """Runs the test() cases of a bpfstar test file with `bpfstar test`.

    The arguments are those of the rule _bpf_test: src, srcs, deps,
    max_steps, allow_skips, workspace_marker, bpfstar. The test is tagged
    no-sandbox: Bazel's linux-sandbox runs tests in a user namespace, where
    the kernel refuses to load BPF programs.
    """
    _bpf_test(name = name, tags = tags + ["no-sandbox"], **kwargs)
