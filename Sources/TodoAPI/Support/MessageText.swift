import TaskModel

extension String {
    /// The string cut to 64 code points, so an error message never echoes a huge client value.
    var abbreviatedForMessage: String {
        unicodeScalars.count > 64 ? String(unicodeScalars.prefix(64)) + "…" : self
    }
}
