

/// The fields a client may set on create or replace, already validated.
public struct TaskDraft: Sendable, Equatable {
    /// The trimmed title.
    public var title: String
    /// The description as sent, or nil.
    public var description: String?
    /// The completion state, when the client gave one.
    public var completed: Bool?
}
