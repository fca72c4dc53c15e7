using Microsoft.Extensions.Logging;

namespace CachifyNet.Internal.Stores;

/// <summary>Log messages of <see cref="CachifyNet.Stores.CacheStoreBackend"/> (events 3001-3009; stable).</summary>
internal static partial class StoreLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Store {Operation} for {Function} failed; the call goes on without the cache. Further failures are counted, and logged at most once per {Interval} until the store works again.")]
    public static partial void OperationFailed(ILogger logger, string operation, string function, TimeSpan interval, Exception error);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "The cached value of {Function} could not be read ({Reason}); it counts as a miss and will be overwritten.")]
    public static partial void PayloadUnreadable(ILogger logger, string function, string reason, Exception? error);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "Store {Operation} for {Function} failed; cached entries may remain until they expire.")]
    public static partial void RemoveFailed(ILogger logger, string operation, string function, Exception error);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "The result of {Function} could not be serialized; it is returned without being cached.")]
    public static partial void SerializeFailed(ILogger logger, string function, Exception error);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "A result of {Function} was not stored because it would not come back as it is: {Problem}. It is returned uncached (logged once per function); return the declared type, or admit the runtime type on the declared type with [JsonDerivedType].")]
    public static partial void ResultNotFaithful(ILogger logger, string function, string problem);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "The store works again after {Failures} failed operations.")]
    public static partial void Recovered(ILogger logger, long failures);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "{Function} waited {Waited} for another process's execution of the same key; running the function without the cache.")]
    public static partial void LockWaitTimedOut(ILogger logger, string function, TimeSpan waited);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Debug, Message = "The result of {Function} was not stored: its lock was removed (Invalidate) or expired while the function ran.")]
    public static partial void LockLost(ILogger logger, string function);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Warning, Message = "Took over the lock of {Function} after waiting for another process: it released or lost its lock without storing a value (its function failed, or its process died and the lock expired).")]
    public static partial void LockTakenOver(ILogger logger, string function);
}
