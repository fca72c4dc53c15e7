using System.Diagnostics.Metrics;
using CachifyNet;
using CachifyNet.Redis;
using StackExchange.Redis;

// Usage:
//   stampede <endpoint> <prefix> <name> <callers> <sync|async>
//     Prints "ready", waits for "go" on stdin, then calls the named function with <callers> concurrent callers.
//     The function counts its executions with INCR {prefix}:test:executions, prints "running" and holds until
//     "release" arrives on stdin. Prints "issued" once every caller has missed (is inside the slow path), then
//     "done <result>" for each distinct result, and exits.
//   hold <endpoint> <prefix> <name> <lockTimeoutMs>
//     Calls the named function once; the function prints "running" and never returns (the test kills the process).
//   node <endpoint> <prefix> <name> <ttlMs> <neverDieIdleMs> <sync|async>
//     A process of the coherence tests: obeys line commands (get, skip, invalidate, clear), see Node.cs.
// Its waits (for "go", "release", or forever) are bounded by the test: it kills the worker when its own deadline
// passes, and when the test process is gone (standard input closed) the worker exits (code 3) rather than stay behind.
var mode = args[0];
if (mode == "node")
{
    return await Node.RunAsync(args);
}

var endpoint = args[1];
var prefix = args[2];
var name = args[3];

var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
var stdin = new Thread(() =>
{
    while (Console.ReadLine() is { } line)
    {
        switch (line)
        {
            case "go":
                go.TrySetResult();
                break;
            case "release":
                release.TrySetResult();
                break;
        }
    }

    Environment.Exit(3); // the test process closed standard input: it is gone
})
{ IsBackground = true };
stdin.Start();

// One endpoint, or several comma-separated (the nodes of a cluster).
var options = new ConfigurationOptions { AbortOnConnectFail = false };
foreach (var node in endpoint.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
{
    options.EndPoints.Add(node);
}

using var connection = await ConnectionMultiplexer.ConnectAsync(options);
var db = connection.GetDatabase();
var counter = (RedisKey)(prefix + ":test:executions");
var pid = Environment.ProcessId;

if (mode == "hold")
{
    using var holder = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = prefix, LockTimeout = TimeSpan.FromMilliseconds(int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture)) });
    var hold = Cachify.Wrap((int x) =>
    {
        db.StringIncrement(counter);
        Console.WriteLine("running");
        new ManualResetEventSlim().Wait();
        return x;
    }).Named(name).NoSelf().Backend(holder);
    hold.Invoke(1);
    return 1;
}

var callers = int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);
var sync = args[5] == "sync";
using var backend = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = prefix, LockTimeout = TimeSpan.FromSeconds(5) });

var misses = 0;
var allMissed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using var listener = new MeterListener();
listener.InstrumentPublished = (instrument, l) =>
{
    if (instrument.Meter.Name == "Cachify" && instrument.Name == "cachify.misses")
    {
        l.EnableMeasurementEvents(instrument);
    }
};
listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
{
    if (Interlocked.Add(ref misses, (int)value) >= callers)
    {
        allMissed.TrySetResult();
    }
});
listener.Start();

string Compute(int x)
{
    db.StringIncrement(counter);
    Console.WriteLine("running");
    release.Task.Wait();
    return $"value-{x}-from-{pid}";
}

async Task<string> ComputeAsync(int x)
{
    await db.StringIncrementAsync(counter);
    Console.WriteLine("running");
    await release.Task;
    return $"value-{x}-from-{pid}";
}

var syncFunc = Cachify.Wrap<int, string>(Compute).Named(name).NoSelf().Backend(backend);
var asyncFunc = Cachify.Wrap<int, string>(ComputeAsync).Named(name).NoSelf().Backend(backend);

Console.WriteLine("ready");
await go.Task;

string[] results;
if (sync)
{
    results = new string[callers];
    var threads = Enumerable.Range(0, callers).Select(i => new Thread(() => results[i] = syncFunc.Invoke(7))).ToList();
    threads.ForEach(t => t.Start());
    await allMissed.Task.WaitAsync(TimeSpan.FromSeconds(60));
    Console.WriteLine("issued");
    threads.ForEach(t => t.Join());
}
else
{
    var tasks = Enumerable.Range(0, callers).Select(_ => Task.Run(() => asyncFunc.Invoke(7))).ToArray();
    await allMissed.Task.WaitAsync(TimeSpan.FromSeconds(60));
    Console.WriteLine("issued");
    results = await Task.WhenAll(tasks);
}

foreach (var result in results.Distinct())
{
    Console.WriteLine("done " + result);
}

return 0;
