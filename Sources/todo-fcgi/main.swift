// todo-fcgi: everything lives in the TodoServer library, where it is unit-tested.
import TodoServer

#if canImport(Glibc)
import Glibc
#endif

exit(TodoCommandLine.run(arguments: Array(CommandLine.arguments.dropFirst())))
