import Testing
@testable import Dispatcher

#if canImport(Glibc)
import Glibc
#endif

@Suite("Connection dispatcher", .serialized)
struct ConnectionDispatcherTests {
    @Test func queuesAConnectionWhenItsRequestArrivesAndTakesItBackAfterward() throws {
        let harness = try DispatcherHarness()
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let client = harness.connectClient()
        #expect(harness.eventually { $0.open == 1 && $0.idle == 1 && $0.queued == 0 })
        send("hello", on: client)
        #expect(harness.eventually { $0.queued == 1 && $0.idle == 0 })
        let ready = try #require(harness.nextReady())
        #expect(receive(from: ready.descriptor) == "hello")
        #expect(harness.dispatcher.currentStatistics.busy == 1)
        send("reply", on: ready.descriptor)
        harness.dispatcher.finished(keptDescriptor: ready.descriptor)
        #expect(receive(from: client) == "reply")
        #expect(harness.eventually { $0.idle == 1 && $0.busy == 0 && $0.open == 1 })

        // The next request on the same kept connection is queued again, on the same descriptor.
        send("again", on: client)
        #expect(harness.eventually { $0.queued == 1 })
        let second = try #require(harness.nextReady())
        #expect(second.descriptor == ready.descriptor)
        #expect(receive(from: second.descriptor) == "again")
        harness.dispatcher.finished(keptDescriptor: nil)
        close(second.descriptor)
        #expect(harness.eventually { $0.open == 0 && $0.idle == 0 })
    }

    @Test func servesReadyConnectionsInTheOrderTheirRequestsArrived() throws {
        let harness = try DispatcherHarness()
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let clients = (0..<3).map { _ in harness.connectClient() }
        #expect(harness.eventually { $0.idle == 3 })
        for (sent, index) in [2, 0, 1].enumerated() {
            send("request \(index)", on: clients[index])
            #expect(harness.eventually { $0.queued == sent + 1 })
        }
        var order: [String] = []
        for _ in 0..<3 {
            let ready = try #require(harness.nextReady())
            order.append(receive(from: ready.descriptor) ?? "?")
            harness.dispatcher.finished(keptDescriptor: ready.descriptor)
        }
        #expect(order == ["request 2", "request 0", "request 1"])
    }

    @Test func idleConnectionsHoldNoThreadAndDelayNoRequest() throws {
        let harness = try DispatcherHarness()
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        for _ in 0..<300 { _ = harness.connectClient() }
        #expect(harness.eventually { $0.open == 300 && $0.idle == 300 })
        let active = harness.connectClient()
        send("ping", on: active)
        #expect(harness.eventually { $0.queued == 1 })
        let ready = try #require(harness.nextReady())
        #expect(receive(from: ready.descriptor) == "ping")
        #expect(ready.waitedNanoseconds < 1_000_000_000)
        harness.dispatcher.finished(keptDescriptor: ready.descriptor)
        #expect(harness.dispatcher.currentStatistics.open == 301)
    }

    @Test func closesAnIdleConnectionWhosePeerHungUp() throws {
        let harness = try DispatcherHarness()
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let client = harness.connectClient()
        #expect(harness.eventually { $0.open == 1 })
        shutdown(client, Int32(SHUT_RDWR))
        #expect(harness.eventually { $0.open == 0 && $0.idle == 0 && $0.queued == 0 })
    }

    @Test func flagsRequestsThatWaitedPastTheQueueTimeout() throws {
        var settings = DispatcherSettings()
        settings.queueTimeoutNanoseconds = 30_000_000
        let harness = try DispatcherHarness(settings: settings)
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let late = harness.connectClient()
        send("late", on: late)
        #expect(harness.eventually { $0.queued == 1 })
        usleep(80_000)  // no worker came for 80 ms
        let overdue = try #require(harness.nextReady())
        #expect(overdue.isOverdue)
        #expect(overdue.waitedNanoseconds >= 30_000_000)
        #expect(receive(from: overdue.descriptor) == "late")
        harness.dispatcher.finished(keptDescriptor: overdue.descriptor)

        let prompt = harness.connectClient()
        send("prompt", on: prompt)
        #expect(harness.eventually { $0.queued == 1 })
        let onTime = try #require(harness.nextReady())
        #expect(!onTime.isOverdue)
        #expect(receive(from: onTime.descriptor) == "prompt")
        harness.dispatcher.finished(keptDescriptor: onTime.descriptor)
        let statistics = harness.dispatcher.currentStatistics
        #expect(statistics.shed == 1 && statistics.dequeued == 2)
    }

    @Test func holdsNoMoreThanTheConnectionLimit() throws {
        var settings = DispatcherSettings()
        settings.maximumConnections = 2
        let harness = try DispatcherHarness(settings: settings)
        harness.start()
        defer { harness.stop(graceSeconds: 0) }
        let first = harness.connectClient()
        _ = harness.connectClient()
        _ = harness.connectClient()  // waits in the listen backlog
        #expect(harness.eventually { $0.open == 2 })
        usleep(100_000)
        #expect(harness.dispatcher.currentStatistics.accepted == 2)
        shutdown(first, Int32(SHUT_RDWR))
        #expect(harness.eventually { $0.accepted == 3 && $0.open == 2 })
    }

    @Test func servesRequestsAlreadySentAfterStopAndKeepsTheConnectionUntilTheGrace() throws {
        let harness = try DispatcherHarness()
        harness.start()
        let client = harness.connectClient()
        send("in flight", on: client)
        #expect(harness.eventually { $0.queued == 1 })
        let loop = harness.dispatcher
        let stopper = startThread { loop.stop(graceSeconds: 0.4) }
        pthread_join(stopper, nil)
        let ready = try #require(harness.nextReady())
        #expect(receive(from: ready.descriptor) == "in flight")
        send("answer", on: ready.descriptor)
        harness.dispatcher.finished(keptDescriptor: ready.descriptor)
        #expect(receive(from: client) == "answer")
        // Kept for another request during the grace (closing it at once would race nginx)...
        #expect(harness.eventually { $0.idle == 1 })
        send("another", on: client)
        let again = try #require(harness.nextReady())
        #expect(receive(from: again.descriptor) == "another")
        harness.dispatcher.finished(keptDescriptor: again.descriptor)
        // ...and closed once the grace is over.
        #expect(receive(from: client) == "")
        #expect(harness.stop(graceSeconds: 0.4) < 2)
        #expect(harness.dispatcher.nextConnection() == nil)
    }

    @Test func leavesIdleConnectionsToThePeerUntilTheGraceEnds() throws {
        let harness = try DispatcherHarness()
        harness.start()
        let client = harness.connectClient()
        #expect(harness.eventually { $0.idle == 1 })
        let seconds = harness.stop(graceSeconds: 0.3)
        #expect(seconds >= 0.25 && seconds < 2)
        #expect(receive(from: client) == "")
        #expect(harness.dispatcher.currentStatistics.open == 0)
        #expect(harness.dispatcher.nextConnection() == nil)
    }

    @Test func stopsAtOnceWhenThePeerClosesItsIdleConnections() throws {
        let harness = try DispatcherHarness()
        harness.start()
        let client = harness.connectClient()
        #expect(harness.eventually { $0.idle == 1 })
        let closer = startThread {
            usleep(100_000)
            shutdown(client, Int32(SHUT_RDWR))
        }
        let seconds = harness.stop(graceSeconds: 10)
        pthread_join(closer, nil)
        #expect(seconds < 2)
    }

    @Test func refusesTCPPeersOutsideTheAllowList() throws {
        var settings = DispatcherSettings()
        settings.allowedPeers = try PeerAllowList(parsing: "127.0.0.2, ::1")
        let refusing = try DispatcherHarness(settings: settings, tcp: true)
        refusing.start()
        defer { refusing.stop(graceSeconds: 0) }
        let outsider = refusing.connectClient()
        #expect(receive(from: outsider) == "")
        #expect(refusing.eventually { $0.refusedPeers == 1 && $0.open == 0 })

        settings.allowedPeers = try PeerAllowList(parsing: "127.0.0.1")
        let allowing = try DispatcherHarness(settings: settings, tcp: true)
        allowing.start()
        defer { allowing.stop(graceSeconds: 0) }
        _ = allowing.connectClient()
        #expect(allowing.eventually { $0.open == 1 && $0.refusedPeers == 0 })
    }
}

@Suite("Peer allow-list")
struct PeerAllowListTests {
    private func allows(_ list: PeerAllowList, ipv4 text: String) -> Bool {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(text)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { list.allows($0) } }
    }

    private func allows(_ list: PeerAllowList, ipv6 text: String) -> Bool {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        _ = inet_pton(AF_INET6, text, &address.sin6_addr)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { list.allows($0) } }
    }

    @Test func anEmptyOrUnsetListAllowsEveryPeer() throws {
        #expect(try PeerAllowList(parsing: nil).allowsAnyPeer)
        #expect(try PeerAllowList(parsing: " , ").allowsAnyPeer)
        #expect(allows(try PeerAllowList(parsing: ""), ipv4: "10.1.2.3"))
    }

    @Test func matchesIPv4IPv6AndIPv4MappedPeersExactly() throws {
        let list = try PeerAllowList(parsing: "10.0.0.5, fd00::7")
        #expect(allows(list, ipv4: "10.0.0.5"))
        #expect(!allows(list, ipv4: "10.0.0.6"))
        #expect(allows(list, ipv6: "fd00::7"))
        #expect(!allows(list, ipv6: "fd00::8"))
        #expect(allows(list, ipv6: "::ffff:10.0.0.5"))
        #expect(!allows(list, ipv6: "::ffff:10.0.0.6"))
    }

    @Test func refusesEntriesThatAreNotAddresses() {
        #expect(throws: PeerAllowListError.self) { try PeerAllowList(parsing: "127.0.0.1,localhost") }
        #expect(throws: PeerAllowListError.self) { try PeerAllowList(parsing: "10.0.0.0/8") }
    }
}
