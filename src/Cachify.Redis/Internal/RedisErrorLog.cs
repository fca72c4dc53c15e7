using Microsoft.Extensions.Logging;

namespace CachifyNet.Redis.Internal;

/// <summary>
/// Rate-limits what one backend logs about Redis failures, so an outage reads as three kinds of lines instead of a stack
/// trace per call: the first failure of an outage at Warning with its exception (event 2001; the first failed Invalidate or
/// Clear of an outage also gets its line, 2005 at Error), then at most one summary per <see cref="Interval"/> with counts (2011), and one Information when a Redis
/// call succeeds again (2012). Time is the backend's <see cref="TimeProvider"/>; metrics still count every failure.
/// </summary>
/// <remarks>
/// A failure that comes less than an interval after the last detailed line (Redis that fails now and then, or comes
/// back and goes again) starts a quiet outage: it is counted in the next summary, with no stack trace and no recovery
/// line of its own. While Redis works, <see cref="Succeeded"/> costs one volatile read.
/// </remarks>
internal sealed class RedisErrorLog(ILogger logger, TimeProvider time)
{
    /// <summary>The shortest time between two detailed lines or summaries.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    private readonly object _sync = new();
    private volatile bool _failing;
    private bool _announced;
    private bool _removalAnnounced;
    private bool _everDetailed;
    private long _lastDetailed;
    private long _outageStart;
    private long _outageFailures;
    private long _windowStart;
    private long _windowFailures;
    private long _windowRemovals;
    private string _lastOperation = string.Empty;
    private string _lastFunction = string.Empty;
    private string _lastError = string.Empty;

    /// <summary>
    /// Counts a failure; true when the caller should log it in detail, with its exception (the first failure of an outage,
    /// at most once per interval). Otherwise it is counted, and a summary is logged when the interval has passed.
    /// </summary>
    public bool Failed(string operation, string function, Exception error, bool removal)
    {
        var now = time.GetTimestamp();
        Summary? summary = null;
        lock (_sync)
        {
            _lastOperation = operation;
            _lastFunction = function;
            _lastError = error.GetType().Name + ": " + error.Message;
            var starting = !_failing;
            if (starting)
            {
                _failing = true;
                _outageStart = now;
                _outageFailures = 0;
                _announced = false;
                _removalAnnounced = false;
            }

            _outageFailures++;
            if (starting && (!_everDetailed || time.GetElapsedTime(_lastDetailed, now) >= Interval))
            {
                // A new outage (or one an interval after the last detailed line): this one is logged with its exception,
                // after the summary of what was counted since the last line, if anything was.
                summary = Take(now);
                _everDetailed = true;
                _removalAnnounced |= removal;
                _lastDetailed = now;
                _windowStart = now;
                _announced = true;
                return Log(summary, detailed: true);
            }

            if (removal && !_removalAnnounced)
            {
                // The first failed Invalidate or Clear of an outage has its own line (2005, Error): entries may be served
                // until they expire, which an operator must see even when the outage is already logged.
                _removalAnnounced = true;
                _announced = true;
                return true;
            }

            _windowFailures++;
            if (removal)
            {
                _windowRemovals++;
            }

            if (time.GetElapsedTime(_windowStart, now) >= Interval)
            {
                summary = Take(now);
                _windowStart = now;
                _announced = true;
            }
        }

        return Log(summary, detailed: false);
    }

    /// <summary>A Redis call succeeded: ends an outage, with one Information line if the outage was logged.</summary>
    public void Succeeded()
    {
        if (!_failing)
        {
            return;
        }

        TimeSpan duration;
        long failures;
        lock (_sync)
        {
            if (!_failing)
            {
                return;
            }

            _failing = false;
            if (!_announced)
            {
                return;
            }

            duration = time.GetElapsedTime(_outageStart);
            failures = _outageFailures;
        }

        RedisLog.Recovered(logger, duration, failures);
    }

    private Summary? Take(long now)
    {
        if (_windowFailures == 0)
        {
            return null;
        }

        var summary = new Summary(_windowFailures, _windowRemovals, time.GetElapsedTime(_windowStart, now), time.GetElapsedTime(_outageStart, now), _lastOperation, _lastFunction, _lastError);
        _windowFailures = 0;
        _windowRemovals = 0;
        return summary;
    }

    private bool Log(Summary? summary, bool detailed)
    {
        if (summary is { } s)
        {
            RedisLog.StillFailing(logger, s.Failures, s.Window, s.Removals, s.Since, s.Operation, s.Function, s.Error);
        }

        return detailed;
    }

    private readonly record struct Summary(long Failures, long Removals, TimeSpan Window, TimeSpan Since, string Operation, string Function, string Error);
}
