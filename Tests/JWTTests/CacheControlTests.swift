import JSON
import HTTPFetch
import JWT
import Synchronization
import Testing

@Suite("Cache-Control max-age")
struct CacheControlTests {
    @Test func parsesMaxAgeAndIgnoresWhatItDoesNotKnow() {
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "max-age=60") == 60)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "public, MAX-AGE=120, must-revalidate") == 120)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "max-age=\"30\"") == 30)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "no-store") == nil)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "private, no-cache, max-age=5") == 5)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "public") == nil)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "max-age=-5") == nil)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "max-age=") == nil)
        #expect(HTTPFetchResponse.maximumAge(cacheControl: "max-age=99999999999999999999") == 9_999_999_999)
    }
}
