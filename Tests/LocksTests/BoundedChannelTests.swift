import Locks
import Testing

struct BoundedChannelTests {
    @Test func valuesArriveInOrderAndTheSenderWaitsWhileTheQueueIsFull() {
        let channel = BoundedChannel<Int>(capacity: 2)
        let mostQueued = Locked(0)
        let sent = Locked(0)
        let sender = WorkerThread {
            for value in 0..<1000 {
                _ = channel.send(value)
                sent.withLock { $0 += 1 }
            }
            channel.finish()
        }
        var received: [Int] = []
        while let value = channel.receive() {
            received.append(value)
            // The sender is at most `capacity` values (and the one it is handing over) ahead.
            let ahead = sent.withLock { $0 } - received.count
            mostQueued.withLock { $0 = max($0, ahead) }
        }
        sender.join()
        #expect(received == Array(0..<1000))
        #expect(mostQueued.withLock { $0 } <= 3)
        // Finished and drained: nil from now on.
        #expect(channel.receive() == nil)
    }

    @Test func whatIsQueuedBeforeFinishIsStillReceived() {
        let channel = BoundedChannel<String>(capacity: 4)
        #expect(channel.send("a") && channel.send("b"))
        channel.finish()
        #expect(channel.receive() == "a")
        #expect(channel.receive() == "b")
        #expect(channel.receive() == nil)
    }

    @Test func cancellingReleasesAWaitingSenderAndRefusesLaterSends() {
        let channel = BoundedChannel<Int>(capacity: 1)
        let outcomes = Locked<[Bool]>([])
        let sender = WorkerThread {
            // The first fits; the second waits for room until the receiver cancels.
            for value in 0..<2 { outcomes.withLock { $0.append(channel.send(value)) } }
            outcomes.withLock { $0.append(channel.send(99)) }
        }
        #expect(channel.receive() == 0)
        channel.cancel()
        sender.join()
        let results = outcomes.withLock { $0 }
        #expect(results.first == true)
        // Whether the second got in before the cancel or not, the one after it was refused.
        #expect(results.last == false)
        #expect(results.count == 3)
    }
}
