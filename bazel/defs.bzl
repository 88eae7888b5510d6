"""Bazel rules for bpfstar: build eBPF objects from Starlark program files.

    load("//bazel:defs.bzl", "bpf_library", "bpf_object")

    bpf_library(
        name = "regs",
        srcs = ["regs.star"],
    )

    bpf_object(
        name = "prog",  # builds prog.o
        src = "prog.star",
        deps = [":regs"],
    )

Each bpf_object runs `bpfstar build -o <name>.o SRC` as one action whose
only inputs are the bpfstar binary, SRC, the library files it may load()
(srcs, and deps with their own deps) and the workspace marker, so in a
sandbox (--spawn_strategy=linux-sandbox) an undeclared library is an error,
not a silent dependency. bpfstar's output depends on nothing else: the
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
        inputs = depset(direct, transitive = [libs]),
        outputs = [out],
        mnemonic = "BpfstarBuild",
        progress_message = "Building eBPF object %s" % out.short_path,
    )
    return [DefaultInfo(files = depset([out]))]

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
