using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using CachifyNet.Benchmarks.Infrastructure;
using CachifyNet.Redis;
using CachifyNet.Stores;
using CachifyNet.Testing;
using StackExchange.Redis;

namespace CachifyNet.Benchmarks.Redis;

/// <summary>
/// <c>--backplane-latency [count]</c>: publish-to-delivery latency of <see cref="RedisBackplane"/> between two multiplexers
/// (two "processes" in one) on loopback, next to raw StackExchange.Redis pub/sub on the same server: one notice at a
/// time (the next is published once the previous one arrived), so each number is one trip, not a queue. The notice
/// carries its publication timestamp. Redis is <c>CACHIFY_BENCH_REDIS</c> if set, else a private redis-server.
/// </summary>
public static class BackplaneLatency
{
    public static int Run(string[] args)
    {
        var count = args.SkipWhile(a => a != "--backplane-latency").Skip(1).Select(a => int.TryParse(a, CultureInfo.InvariantCulture, out var n) ? n : 0).FirstOrDefault(n => n > 0);
        count = count > 0 ? count : 10_000;
        using var server = RedisEndpoint.IsConfigured ? null : new LocalRedisServer("cachify-bench-backplane-");
        var endpoint = server?.EndPoint ?? RedisEndpoint.Configuration;
        using var publisherConnection = ConnectionMultiplexer.Connect(endpoint);
        using var receiverConnection = ConnectionMultiplexer.Connect(endpoint);

        Console.WriteLine($"Publish-to-delivery latency on {endpoint}, {count:N0} notices one at a time after 1,000 warm-up ones (microseconds)");
        Console.WriteLine();
        Console.WriteLine("| path | p50 | p90 | p99 | p99.9 | max |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        // Interleaved rounds: the first round of either path also pays for the process warming up.
        for (var round = 1; round <= 2; round++)
        {
            Print($"raw pub/sub (ChannelMessageQueue), round {round}", Raw(publisherConnection, receiverConnection, count));
            Print($"RedisBackplane, round {round}", Backplane(publisherConnection, receiverConnection, count));
        }
        return 0;
    }

    private static double[] Backplane(ConnectionMultiplexer publisherConnection, ConnectionMultiplexer receiverConnection, int count)
    {
        var channel = new RedisBackplaneOptions { Channel = "bench:backplane:" + Guid.NewGuid().ToString("N") };
        using var publisher = new RedisBackplane(publisherConnection, channel);
        using var receiver = new RedisBackplane(receiverConnection, channel);
        var probe = new Probe(count);
        using var subscription = receiver.Subscribe(probe);
        if (!SpinWait.SpinUntil(() => probe.Flowing, TimeSpan.FromSeconds(10)))
        {
            throw new InvalidOperationException("The receiving backplane did not receive its heartbeat within 10 s.");
        }

        var notice = new byte[8 + 32]; // a timestamp and the size of a typical notice
        return probe.Measure(() =>
        {
            BinaryPrimitives.WriteInt64LittleEndian(notice, Stopwatch.GetTimestamp());
            publisher.Publish(notice);
        });
    }

    private static double[] Raw(ConnectionMultiplexer publisherConnection, ConnectionMultiplexer receiverConnection, int count)
    {
        var channel = RedisChannel.Literal("bench:raw:" + Guid.NewGuid().ToString("N")).WithKeyRouting();
        var probe = new Probe(count);
        var queue = receiverConnection.GetSubscriber().Subscribe(channel);
        queue.OnMessage(message => probe.OnNotice(((ReadOnlyMemory<byte>)message.Message).Span));
        var notice = new byte[8 + 32];
        var publisher = publisherConnection.GetSubscriber();
        try
        {
            return probe.Measure(() =>
            {
                BinaryPrimitives.WriteInt64LittleEndian(notice, Stopwatch.GetTimestamp());
                publisher.Publish(channel, notice);
            });
        }
        finally
        {
            queue.Unsubscribe();
        }
    }

    private static void Print(string path, double[] sorted)
    {
        static string At(double[] values, double quantile) => values[Math.Min(values.Length - 1, (int)(quantile * values.Length))].ToString("0.0", CultureInfo.InvariantCulture);
        Console.WriteLine($"| {path} | {At(sorted, 0.50)} | {At(sorted, 0.90)} | {At(sorted, 0.99)} | {At(sorted, 0.999)} | {sorted[^1].ToString("0.0", CultureInfo.InvariantCulture)} |");
    }

    /// <summary>Receives the timestamped notices and records each one's trip.</summary>
    private sealed class Probe(int count) : ICacheBackplaneSubscriber
    {
        private readonly SemaphoreSlim _arrived = new(0);
        private readonly double[] _latencies = new double[count];
        private int _next = -1000;
        private int _lost;

        /// <summary>Whether each loss the backplane reported was followed by a restore.</summary>
        public bool Flowing => Volatile.Read(ref _lost) == 0;

        public void OnNotice(ReadOnlySpan<byte> notice)
        {
            var micros = Stopwatch.GetElapsedTime(BinaryPrimitives.ReadInt64LittleEndian(notice)).TotalMicroseconds;
            var index = _next++;
            if (index >= 0)
            {
                _latencies[index] = micros;
            }

            _arrived.Release();
        }

        public void OnConnectionLost() => Interlocked.Increment(ref _lost);

        public void OnConnectionRestored() => Interlocked.Decrement(ref _lost);

        public double[] Measure(Action publish)
        {
            for (var i = 0; i < count + 1000; i++)
            {
                publish();
                if (!_arrived.Wait(TimeSpan.FromSeconds(10)))
                {
                    throw new InvalidOperationException($"Notice {i} did not arrive within 10 s.");
                }
            }

            var sorted = _latencies.ToArray();
            Array.Sort(sorted);
            return sorted;
        }
    }
}
