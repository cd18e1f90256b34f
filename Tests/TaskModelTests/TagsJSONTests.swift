import JSON
import Testing
@testable import TaskModel

/// A calendar report reads tags straight from their stored JSON (`TaskRow.forEachTag`): it must
/// give what the full parser gives for every input, its fast path or not.
struct TagsJSONTests {
    static func lent(_ json: String) -> [String] {
        var tags: [String] = []
        Array(json.utf8).withUnsafeBufferPointer { bytes in
            TaskRow.forEachTag(inJSON: bytes) { tags.append(String(decoding: $0, as: UTF8.self)) }
        }
        return tags
    }

    static func parsed(_ json: String) -> [String] {
        Array(json.utf8).withUnsafeBufferPointer { TaskRow.tags(fromJSON: $0) }
    }

    @Test(arguments: [
        "[]", "[\"home\"]", "[\"home\",\"work\"]", " [ \"a\" , \"b\" ] ", "[\"\"]", "[\"é ✓\",\"x,y;z\"]",
        // Escapes go to the parser, and so do values it reads differently or refuses.
        "[\"a\\\"b\",\"c\\\\d\",\"\\u00e9\"]", "[\"tab\\there\"]", "[1,\"a\"]", "[\"a\",]", "[\"a\"", "\"a\"", "", "[\"a\"]x",
        "[\"a\" \"b\"]", "[\"raw\ttab\"]", "{\"a\":1}", "[null]", "[[\"a\"]]",
    ])
    func givesWhatTheParserGives(json: String) {
        #expect(Self.lent(json) == Self.parsed(json), "\(json)")
    }

    @Test func readsWhatTheStateWrites() {
        var state = TaskState(title: "t")
        state.tags = ["Home", "with \"quotes\"", "back\\slash", "é", "comma,semi;"]
        #expect(Self.lent(state.tagsJSON) == state.tags)
    }
}
