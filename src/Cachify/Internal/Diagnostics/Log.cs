using Microsoft.Extensions.Logging;

namespace CachifyNet.Internal;

/// <summary>Source-generated log messages. Event ids are stable: dashboards and alerts may rely on them.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Never-die refresh of {Function} failed (attempt {Attempt}); keeping the last good value and retrying in {RetryInMilliseconds} ms.")]
    public static partial void RefreshFailed(ILogger logger, string function, int attempt, double retryInMilliseconds, Exception error);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "A Cachify scheduler callback failed.")]
    public static partial void SchedulerCallbackFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "A callback registered on the cancellation token of a cached function threw while the token was cancelled.")]
    public static partial void CancellationCallbackFailed(ILogger logger, Exception error);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "{Function} ran {Misses} times, {Fresh} of them for an instance of {TargetType} it had not seen before: entries are kept per instance (the method's 'this', one its lambda uses, or an argument compared by reference), so a new instance per call or per request never hits. Call .NoSelf() if every instance computes the same results (or leave the argument out with .IgnoreArgs/.KeyBy), or register the method with services.AddCachedFunc<TService, ...>(...) (a singleton whose every execution resolves the service from its own scope; docs/aspnetcore.md).")]
    public static partial void NeverHits(ILogger logger, string function, int misses, int fresh, string targetType);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "{Function} is a method of {TargetType}, which the container registers as {Lifetime}: its entries are kept per instance, so a wrapper made for one request never hits in the next. Register it with services.AddCachedFunc<{TargetType}, ...>(...) (a singleton whose every execution resolves the service from its own scope; docs/aspnetcore.md), or call .NoSelf() if every instance computes the same results.")]
    public static partial void PerRequestTarget(ILogger logger, string function, string targetType, string lifetime);
}
