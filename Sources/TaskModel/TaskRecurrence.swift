import Clocks

/// How a task repeats: every `interval` days, weeks, months or years after its due date.
public struct TaskRecurrence: Sendable, Equatable {
    /// The unit of repetition.
    public enum Frequency: Int64, Sendable, CaseIterable {
        case daily = 1
        case weekly = 2
        case monthly = 3
        case yearly = 4

        /// The name the API uses.
        public var name: String {
            switch self {
            case .daily: return "daily"
            case .weekly: return "weekly"
            case .monthly: return "monthly"
            case .yearly: return "yearly"
            }
        }

        /// The frequency named `name`, exactly (lowercase).
        public init?(name: String) {
            guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
            self = match
        }
    }

    /// The largest interval accepted.
    public static let maximumInterval: Int64 = 365

    /// The unit.
    public var frequency: Frequency
    /// How many units, 1...365.
    public var interval: Int64

    /// A recurrence of `interval` units of `frequency`.
    public init(frequency: Frequency, interval: Int64 = 1) {
        self.frequency = frequency
        self.interval = interval
    }

    private static let day = Timestamp.millisecondsPerDay

    /// `due` advanced once, of the same kind: an all-day date stays all-day (contract §10), on
    /// the calendar exactly as an instant at that day's midnight (UTC) would.
    public func advance(_ due: TaskDueDate) -> TaskDueDate {
        TaskDueDate(milliseconds: advance(due.milliseconds), isAllDay: due.isAllDay)
    }

    /// `dueDate` (milliseconds since the epoch, UTC) advanced once, time of day kept: days and
    /// weeks as multiples of 24 h, months and years on the calendar with the day clamped to
    /// the month's last (Jan 31 + 1 month = Feb 28 or 29; Feb 29 + 1 year = Feb 28).
    public func advance(_ dueDate: Int64) -> Int64 {
        switch frequency {
        case .daily: return dueDate + interval * Self.day
        case .weekly: return dueDate + interval * 7 * Self.day
        case .monthly: return Self.addingMonths(interval, to: dueDate)
        case .yearly: return Self.addingMonths(interval * 12, to: dueDate)
        }
    }

    private static func addingMonths(_ months: Int64, to milliseconds: Int64) -> Int64 {
        let timeOfDay = milliseconds.modulo(day)
        let days = (milliseconds - timeOfDay) / day
        let (year, month, dayOfMonth) = CivilDate.civilDate(daysSinceEpoch: Int(days))
        let monthIndex = Int64(year) * 12 + Int64(month - 1) + months
        let newYear = Int(monthIndex / 12)
        let newMonth = Int(monthIndex % 12) + 1
        let clampedDay = min(dayOfMonth, CivilDate.daysInMonth(year: newYear, month: newMonth))
        return Int64(CivilDate.daysSinceEpoch(year: newYear, month: newMonth, day: clampedDay)) * day + timeOfDay
    }
}
