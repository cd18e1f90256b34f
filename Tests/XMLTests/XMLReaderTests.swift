import Testing
import XML

private func read(_ text: String) throws(XMLError) -> XMLElement { try XMLReader.read(Array(text.utf8)) }

@Suite("XML reader")
struct XMLReaderTests {
    @Test func readsAPropfindWithNamespacesAndPrefixes() throws {
        let root = try read("""
            <?xml version="1.0" encoding="utf-8" ?>
            <!-- a comment -->
            <d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">
              <d:prop><d:resourcetype/><cs:getctag/><c:calendar-home-set /></d:prop>
            </d:propfind>
            """)
        #expect(root.is("DAV:", "propfind"))
        let properties = try #require(root.child("DAV:", "prop")).children
        #expect(properties.map(\.namespace) == ["DAV:", "http://calendarserver.org/ns/", "urn:ietf:params:xml:ns:caldav"])
        #expect(properties.map(\.name) == ["resourcetype", "getctag", "calendar-home-set"])
    }

    @Test func defaultNamespacesAreScopedAndAttributesUnprefixedHaveNone() throws {
        let root = try read("<a xmlns='DAV:'><b xmlns=\"urn:x\" n='1'><c/></b><d/></a>")
        #expect(root.namespace == "DAV:")
        #expect(root.children[0].namespace == "urn:x" && root.children[0].children[0].namespace == "urn:x")
        #expect(root.children[1].namespace == "DAV:")
        #expect(root.children[0].attributes == [XMLAttribute(namespace: "", name: "n", value: "1")])
        #expect(root.children[0].attribute("n") == "1")
    }

    @Test func resolvesPredefinedAndCharacterReferencesAndCDATA() throws {
        let root = try read("<t a=\"&quot;&#x41;&#66;\">x &lt;&gt;&amp;&apos; <![CDATA[<not/>&amp;]]> &#x1F600;</t>")
        #expect(root.text == "x <>&' <not/>&amp; 😀")
        #expect(root.attribute("a") == "\"AB")
    }

    @Test func emptyBodiesOfElementsHaveEmptyText() throws {
        #expect(try read("<a/>").text == "")
        #expect(try read("<a></a >").children.isEmpty)
    }

    @Test func refusesDocumentTypeDeclarationsWhereverTheyAre() {
        let laughs = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
            <lolz>&lol2;</lolz>
            """
        #expect(throws: XMLError.documentTypeDeclaration) { try read(laughs) }
        let external = "<!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><foo>&xxe;</foo>"
        #expect(throws: XMLError.documentTypeDeclaration) { try read(external) }
        #expect(throws: XMLError.documentTypeDeclaration) { try read("<a><!DOCTYPE x></a>") }
        #expect(throws: XMLError.documentTypeDeclaration) { try read("<a/><!doctype x>") }
    }

    @Test func refusesEntitiesThatAreNotPredefined() {
        #expect(throws: XMLError.undefinedEntity) { try read("<a>&xxe;</a>") }
        #expect(throws: XMLError.undefinedEntity) { try read("<a b='&nbsp;'/>") }
    }

    @Test func refusesNestingDeeperThanTheCap() throws {
        let depth = XMLReader.maximumDepth
        let fits = String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth)
        #expect(throws: Never.self) { try read(fits) }
        let deeper = String(repeating: "<a>", count: depth + 1) + String(repeating: "</a>", count: depth + 1)
        #expect(throws: XMLError.nestingTooDeep) { try read(deeper) }
    }

    @Test func refusesTooManyElementsOrAttributes() {
        let many = "<a>" + String(repeating: "<b/>", count: XMLReader.maximumElements) + "</a>"
        #expect(throws: XMLError.tooManyNodes) { try read(many) }
        let attributes = (0...XMLReader.maximumAttributes).map { "a\($0)='1'" }.joined(separator: " ")
        #expect(throws: XMLError.tooManyNodes) { try read("<a \(attributes)/>") }
    }

    @Test func refusesUnboundPrefixes() {
        #expect(throws: XMLError.unboundPrefix) { try read("<d:a/>") }
        #expect(throws: XMLError.unboundPrefix) { try read("<a x:b='1'/>") }
    }

    @Test func refusesTextThatIsNotUTF8() {
        #expect(throws: XMLError.notUTF8) { try XMLReader.read([0x3C, 0x61, 0x3E, 0xFF, 0x3C, 0x2F, 0x61, 0x3E]) }
        #expect(throws: XMLError.notUTF8) { try read("<?xml version='1.0' encoding='ISO-8859-1'?><a/>") }
    }

    @Test(arguments: ["", "   ", "text", "<a>", "<a></b>", "<a><b></a></b>", "<a/><b/>", "<a/>text", "<a b=1/>",
                      "<a b='1' b='2'/>", "<a b='<'/>", "<a b='1'c='2'/>", "<1a/>", "<a>&amp</a>", "<a>&#0;</a>",
                      "<a>&#xD800;</a>", "<a>&#x;</a>", "<a>&#-1;</a>", "<a><!-- x</a>", "<a><![CDATA[x</a>",
                      "<a><!ELEMENT x></a>", "<a/><?xml version='1.0'?>", "<:a/>", "<a:/>", "<a:b:c/>",
                      "<a xmlns:p=''/>", "<a/ >", "< a/>"])
    func refusesWhatIsNotWellFormed(_ text: String) {
        #expect(throws: XMLError.self) { try read(text) }
    }

    @Test func escapingMakesAnyTextSafeContent() throws {
        let text = "a<b>&\"c'd"
        let root = try read("<x y=\"\(XMLEscaping.escape(text))\">\(XMLEscaping.escape(text))</x>")
        #expect(root.text == text && root.attribute("y") == text)
    }
}
