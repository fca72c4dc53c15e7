using Microsoft.Extensions.Logging;

namespace CachifyNet.Redis.Internal;

/// <summary>Source-generated log messages of the Redis backend. Event ids (2001+) are stable: dashboards and alerts may rely on them.</summary>
internal static partial class RedisLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Redis {Operation} for {Function} failed; the call goes on without the cache.")]
    public static partial void OperationFailed(ILogger logger, string operation, string function, Exception error);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "The cached value of {Function} could not be read ({Reason}); it counts as a miss and will be overwritten.")]
    public static partial void PayloadUnreadable(ILogger logger, string function, string reason, Exception? error);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "{Function} waited {Waited} for another process's execution of the same key; running the function without the cache.")]
    public static partial void LockWaitTimedOut(ILogger logger, string function, TimeSpan waited);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "The result of {Function} was not stored: its lock was removed (Invalidate or Clear) or expired while the function ran.")]
    public static partial void LockLost(ILogger logger, string function);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Redis {Operation} for {Function} failed; cached entries may remain until they expire.")]
    public static partial void RemoveFailed(ILogger logger, string operation, string function, Exception error);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "The result of {Function} could not be serialized; it is returned without being cached.")]
    public static partial void SerializeFailed(ILogger logger, string function, Exception error);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "Subscribing to Redis notifications on {Channel} failed; waiting processes poll instead.")]
    public static partial void SubscribeFailed(ILogger logger, string channel, Exception error);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Never-die refresh of {Function} could not reach Redis (attempt {Attempt}); retrying in {RetryIn}.")]
    public static partial void RefreshCheckFailed(ILogger logger, string function, int attempt, TimeSpan retryIn, Exception error);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "Took over the lock of {Function} after waiting for another process: it released or lost its lock without storing a value (its function failed, or its process died and the lock expired).")]
    public static partial void LockTakenOver(ILogger logger, string function);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "A result of {Function} was not stored in Redis because it would not come back as it is: {Problem}. It is returned uncached (logged once per function); return the declared type, or admit the runtime type on the declared type with [JsonDerivedType].")]
    public static partial void ResultNotFaithful(ILogger logger, string function, string problem);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Redis failures in the last {Window}: {Failures} operations failed and ran without the cache ({Removals} of them Invalidate or Clear: those entries may be served until they expire). Failing for {Since}; the last: {Operation} for {Function}: {Error}")]
    public static partial void StillFailing(ILogger logger, long failures, TimeSpan window, long removals, TimeSpan since, string operation, string function, string error);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "Redis works again after {Duration} of failures; {Failures} operations failed meanwhile.")]
    public static partial void Recovered(ILogger logger, TimeSpan duration, long failures);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "The Redis backplane on {Channel} may have lost notices: {Reason}. Its subscribers stop trusting their local copies until an own heartbeat comes back.")]
    public static partial void BackplaneConnectionLost(ILogger logger, string channel, string reason);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Information, Message = "The Redis backplane on {Channel} receives notices again (an own heartbeat came back).")]
    public static partial void BackplaneConnectionRestored(ILogger logger, string channel);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Error, Message = "A subscriber of the Redis backplane on {Channel} threw from {Callback}; the other subscribers were still called.")]
    public static partial void BackplaneSubscriberFailed(ILogger logger, string channel, string callback, Exception error);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Debug, Message = "The Redis backplane on {Channel} could not publish its heartbeat or unsubscribe.")]
    public static partial void BackplaneHeartbeatFailed(ILogger logger, string channel, Exception error);

    [LoggerMessage(EventId = 2017, Level = LogLevel.Debug, Message = "A message of {Length} bytes on the backplane channel {Channel} is not a backplane message; ignored.")]
    public static partial void BackplaneUnreadableMessage(ILogger logger, string channel, int length);
}
