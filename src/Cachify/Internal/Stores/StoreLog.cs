using Microsoft.Extensions.Logging;

namespace CachifyNet.Internal.Stores;

/// <summary>Log messages of <see cref="CachifyNet.Stores.CacheStoreBackend"/> (events 3001-3006; stable).</summary>
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
}
