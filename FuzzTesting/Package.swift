// swift-tools-version: 6.0
import PackageDescription

/// The libFuzzer targets, as a package of their own beside the product (swift-protobuf's
/// FuzzTesting/ is the model): it depends on todo-fcgi by path, so the fuzzer links the very
/// modules the service runs, built with `-sanitize=fuzzer,address` by scripts/fuzz.sh.
let package = Package(
    name: "FuzzTesting",
    dependencies: [
        .package(name: "todo-fcgi", path: ".."),
    ],
    targets: [
        // libFuzzer's driver entry point, declared (the sanitizer runtime provides it).
        .systemLibrary(name: "CLibFuzzer"),
        .executableTarget(name: "FuzzTodo", dependencies: ["CLibFuzzer", .product(name: "TodoAPI", package: "todo-fcgi")]),
    ],
    swiftLanguageModes: [.v6]
)
