using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace CachifyNet.Internal;

/// <summary>
/// The meter and activity source named "Cachify". Every instrument is tagged with the function name
/// (<c>cachify.function</c>) and the backend (<c>cachify.backend</c>). Recording costs a field read when
/// nobody listens, so the hit path stays free.
/// </summary>
internal static class Telemetry
{
    public const string Name = "Cachify";
    public const string FunctionTag = "cachify.function";
    public const string BackendTag = "cachify.backend";
    public const string OperationTag = "cachify.operation";

    public static readonly Meter Meter = new(Name, typeof(Telemetry).Assembly.GetName().Version?.ToString());
    public static readonly ActivitySource Source = new(Name, typeof(Telemetry).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> Hits = Meter.CreateCounter<long>("cachify.hits", "{call}", "Calls answered from the cache.");
    private static readonly Counter<long> Misses = Meter.CreateCounter<long>("cachify.misses", "{call}", "Calls that found no usable entry (they execute the function or join an execution).");
    private static readonly Counter<long> Executions = Meter.CreateCounter<long>("cachify.executions", "{execution}", "Executions of the wrapped function (calls, skip-cache calls and refreshes).");
    private static readonly Counter<long> Joins = Meter.CreateCounter<long>("cachify.stampede.joins", "{call}", "Calls that waited for an execution another caller started instead of running the function.");
    private static readonly Counter<long> RefreshSuccesses = Meter.CreateCounter<long>("cachify.refresh.successes", "{refresh}", "Never-die refreshes that stored a new value.");
    private static readonly Counter<long> RefreshFailures = Meter.CreateCounter<long>("cachify.refresh.failures", "{refresh}", "Never-die refreshes that failed (the last good value is kept).");
    private static readonly Counter<long> BackendErrors = Meter.CreateCounter<long>("cachify.backend.errors", "{error}", "Backend operations that failed (with OnError = Silent the call still succeeds).");
    private static readonly Histogram<double> ExecutionDuration = Meter.CreateHistogram<double>("cachify.execution.duration", "s", "How long executions of the wrapped function take.");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Hit(Tags tags)
    {
        if (Hits.Enabled)
        {
            Hits.Add(1, tags.Function, tags.Backend);
        }
    }

    public static void Miss(Tags tags)
    {
        if (Misses.Enabled)
        {
            Misses.Add(1, tags.Function, tags.Backend);
        }
    }

    public static void Joined(Tags tags)
    {
        if (Joins.Enabled)
        {
            Joins.Add(1, tags.Function, tags.Backend);
        }
    }

    /// <summary>Starts timing an execution; returns a timestamp for <see cref="Executed"/> and the activity, if sampled.</summary>
    public static Activity? StartExecution(Tags tags, out long started)
    {
        started = ExecutionDuration.Enabled ? Stopwatch.GetTimestamp() : 0;
        if (Executions.Enabled)
        {
            Executions.Add(1, tags.Function, tags.Backend);
        }

        var activity = Source.HasListeners() ? Source.StartActivity("cachify.execute", ActivityKind.Internal) : null;
        if (activity is not null)
        {
            activity.SetTag(FunctionTag, tags.Function.Value);
            activity.SetTag(BackendTag, tags.Backend.Value);
        }

        return activity;
    }

    public static void Executed(Tags tags, Activity? activity, long started, Exception? error)
    {
        if (started != 0)
        {
            ExecutionDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags.Function, tags.Backend);
        }

        if (activity is not null)
        {
            if (error is not null)
            {
                activity.SetStatus(ActivityStatusCode.Error, error.Message);
                activity.AddTag("exception.type", error.GetType().FullName);
            }

            activity.Dispose();
        }
    }

    public static void Refreshed(Tags tags, bool success)
    {
        var counter = success ? RefreshSuccesses : RefreshFailures;
        if (counter.Enabled)
        {
            counter.Add(1, tags.Function, tags.Backend);
        }
    }

    public static void BackendError(Tags tags, string operation)
    {
        if (BackendErrors.Enabled)
        {
            BackendErrors.Add(1, tags.Function, tags.Backend, new KeyValuePair<string, object?>(OperationTag, operation));
        }
    }

    /// <summary>The tags of one wrapper, built once at bind time.</summary>
    internal sealed class Tags(string function, string backend)
    {
        public KeyValuePair<string, object?> Function { get; } = new(FunctionTag, function);

        public KeyValuePair<string, object?> Backend { get; } = new(BackendTag, backend);
    }
}
