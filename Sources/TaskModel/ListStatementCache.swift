/// How many list-query shapes a connection keeps prepared by default (`--statement-cache`).
public enum ListStatementCache {
    /// The default bound: every shape a front end commonly asks for, with room to spare.
    public static let defaultShapes = 64
}
