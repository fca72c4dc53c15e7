using System.Globalization;
using System.Text;
using CachifyNet.Internal;
using CachifyNet.Redis.Internal;
using CsCheck;

namespace CachifyNet.Redis.Tests.Reliability;

/// <summary>
/// Fuzzes the stable text encoding of arguments (the argument part of Redis keys): for random argument tuples a and b
/// of the same types, encode(a) == encode(b) exactly when a and b are equal by <see cref="EqualityComparer{T}.Default"/>.
/// Pairs are built so that b is often equal to a in a different representation (-0 and 0, 1.0m and 1.00m, another
/// DateTime Kind or DateTimeOffset offset, a copy of a string or record), often a near miss, sometimes unrelated.
/// The encodings are compared as UTF-8 bytes, which is what Redis stores as the key.
/// </summary>
/// <remarks>
/// One documented exception: <c>byte[]</c> is keyed by content (Base64) on Redis, while
/// <see cref="EqualityComparer{T}.Default"/> compares arrays by reference (so in memory two equal-content arrays are two
/// keys). The property uses content equality for <c>byte[]</c>.
/// </remarks>
[Trait("Category", "Reliability")]
public class KeyTextFuzzTests
{
    private static readonly string[] Tokens =
    [
        "a", "b", "Z", "0", "1", "-", ".", ":", ",", "%", "%2C", "%25", "~", "#", "{", "}", "{a:b}", " ", "\t", "\n", "\r\n",
        "\u00A0", "\u0085", "\u2028", "\u3000", "\0", "\u007F", "é", "e\u0301", "日本", "😀", "\uD83D", "\uDE00", "\uD800", "\uDBFF", "\uDC00",
        "null", "\"", "\\", "[1,2]", new string('x', 100),
    ];

    private static readonly Gen<string> Text = Gen.Int[0, 5].SelectMany(n => Gen.OneOf(Tokens).Array[n]).Select(parts => string.Concat(parts));

    private static readonly Gen<string?> NullableText = Gen.Frequency((1, Gen.Const((string?)null)), (8, Text.Select(s => (string?)s)));

    private static readonly Gen<int> SmallInt = Gen.OneOf<int>(Gen.Int[-3, 3], Gen.OneOf(int.MinValue, int.MaxValue, 10, 100));

    private static readonly Gen<double> Double = Gen.OneOf<double>(
        Gen.OneOf(0d, -0d, 1d, -1d, 0.1, 0.30000000000000004, 1e-300, 1e300, double.Epsilon, double.MaxValue, double.MinValue, double.NaN, double.PositiveInfinity, double.NegativeInfinity, BitConverter.Int64BitsToDouble(0x7FF8000000000001)),
        Gen.Double[-10, 10]);

    private static readonly Gen<decimal> Decimal = Gen.OneOf<decimal>(
        Gen.OneOf(0m, 1m, 1.0m, 1.00m, -1m, 0.1m, 0.10m, 10m, 100m, 1e-28m, decimal.MaxValue, decimal.MinValue, new decimal(0, 0, 0, true, 3), 7.9228162514264337593543950335m),
        Gen.Decimal[-1000m, 1000m]);

    private static readonly Gen<DateTime> Date = Gen.OneOf<DateTime>(
        Gen.OneOf(DateTime.MinValue, DateTime.MaxValue, new DateTime(2026, 1, 1), new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc), new DateTime(2026, 1, 1).AddTicks(1)),
        Gen.Long[new DateTime(1990, 1, 1).Ticks, new DateTime(2100, 1, 1).Ticks].Select(t => new DateTime(t)))
        .SelectMany(d => Gen.Enum<DateTimeKind>().Select(k => DateTime.SpecifyKind(d, k)));

    private static readonly Gen<TimeSpan> Offset = Gen.Int[-14 * 4, 14 * 4].Select(q => TimeSpan.FromMinutes(q * 15));

    private static readonly Gen<DateTimeOffset> Instant = Gen.Select(Gen.Long[new DateTime(1990, 1, 1).Ticks, new DateTime(2100, 1, 1).Ticks], Offset, (t, o) => new DateTimeOffset(t, o));

    private static readonly Gen<Rec> Record = Gen.Select(NullableText, SmallInt, (n, i) => new Rec(n, i));

    private static readonly Gen<Measure> MeasureRecord = Gen.Select(Double, Decimal, Date, (d, m, t) => new Measure(d, m, t));

    private static readonly Gen<Shape> AnyShape = Gen.Select(Gen.Bool, SmallInt, (circle, size) => circle ? (Shape)new Circle(size) : new Square(size));

    private static readonly Gen<object?> Boxed = Gen.OneOf<object?>(
        Gen.Const(default(object?)), SmallInt.Select(i => (object?)i), SmallInt.Select(i => (object?)(long)i), SmallInt.Select(i => (object?)(double)i),
        SmallInt.Select(i => (object?)i.ToString(CultureInfo.InvariantCulture)), Gen.OneOf<object?>(Color.Red, (Flags)0, 'a', true));

    /// <summary>One argument position: a pair of values of one type, whether they are equal, and how to write each.</summary>
    private static readonly Gen<Part> AnyPart = Gen.OneOf<Part>(
        PairOf(NullableText, a => a is null ? NullableText : Gen.OneOf<string?>(Gen.Const<string?>(() => new string(a.AsSpan())), Mutated(a))),
        PairOf(Gen.OneOf<char>(Gen.Char, Gen.OneOf(',', '%', '~', '#', ' ', '\u00A0', '\uD800', '\uDBFF', '\uDC00', '\uDFFF')), a => Gen.OneOf(a, '\uD800', '\uDC00')),
        PairOf(SmallInt, a => Gen.Const(a)),
        PairOf(Gen.OneOf<long>(Gen.Long[-3, 3], Gen.OneOf(long.MinValue, long.MaxValue)), a => Gen.Const(a)),
        PairOf(Double, a => Gen.Const(a == 0 ? -a : double.IsNaN(a) ? BitConverter.Int64BitsToDouble(0x7FF8000000000002) : a)),
        PairOf(Double.Select(d => (float)d), a => Gen.Const(a == 0 ? -a : a)),
        PairOf(Decimal, a => Gen.OneOf(a, ScaleUp(a), -a == a ? new decimal(0, 0, 0, true, 5) : a)),
        PairOf(Gen.OneOf(Guid.Empty, Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964ff"), Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964fe")), a => Gen.Const(a)),
        PairOf(Date, a => Gen.Enum<DateTimeKind>().Select(k => DateTime.SpecifyKind(a, k))),
        PairOf(Instant, a => Offset.Select(a.ToOffset)),
        PairOf(Gen.Bool, a => Gen.Const(a)),
        PairOf(Gen.OneOf<Color>(Gen.Enum<Color>(), Gen.Int[-2, 5].Select(i => (Color)i)), a => Gen.Const(a)),
        PairOf(Gen.OneOf<Flags>(Gen.Enum<Flags>(), Gen.Byte.Select(b => (Flags)b)), a => Gen.Const(a)),
        PairOf(Gen.Frequency((1, Gen.Const((int?)null)), (4, SmallInt.Select(i => (int?)i))), a => Gen.Const(a)),
        PairOf(Gen.OneOf(TimeSpan.Zero, TimeSpan.FromTicks(1), TimeSpan.FromDays(-1), TimeSpan.MaxValue, TimeSpan.MinValue), a => Gen.Const(a)),
        PairOf(Gen.OneOf(DateOnly.MinValue, DateOnly.MaxValue, new DateOnly(2026, 1, 1)), a => Gen.Const(a)),
        PairOf(Gen.OneOf(TimeOnly.MinValue, TimeOnly.MaxValue, new TimeOnly(12, 0)), a => Gen.Const(a)),
        PairOf(Gen.Frequency((1, Gen.Const((byte[]?)null)), (6, Gen.Byte[0, 3].Array[0, 4].Select(b => (byte[]?)b))), a => Gen.Const(a is null ? null : (byte[]?)a.ToArray()), ContentEquality.Instance),
        PairOf(Gen.Frequency((1, Gen.Const((Rec?)null)), (6, Record.Select(r => (Rec?)r))), a => Gen.Const(a is null ? null : a with { })),
        PairOf(MeasureRecord, a => Gen.Const(new Measure(a.Score == 0 ? -a.Score : a.Score, ScaleUp(a.Amount), DateTime.SpecifyKind(a.When, a.When.Kind == DateTimeKind.Utc ? DateTimeKind.Local : DateTimeKind.Utc)))),
        PairOf(Gen.Select(SmallInt, NullableText, (i, t) => (Id: i, Name: t)), a => Gen.Const((a.Id, a.Name is null ? null : new string(a.Name.AsSpan())))),
        PairOf(Gen.Select(SmallInt, SmallInt, (x, y) => new FieldPoint { X = x, Y = y }), a => Gen.Const(a)),
        PairOf(AnyShape, a => Gen.Const(a with { })),
        PairOf(Gen.Select(AnyShape, Boxed, (shape, value) => new Tagged(shape, value)), a => Gen.Const(a with { })));

    private static readonly Gen<Part[]> Tuples = AnyPart.Array[1, 8];

    [Fact]
    public void Encode_RandomTuples_EqualTextExactlyWhenArgumentsAreEqual()
    {
        Tuples.Sample(
            parts =>
            {
                var equal = parts.All(p => p.Equal);
                var (a, b) = (Encode(parts, second: false), Encode(parts, second: true));
                if (equal != a.AsSpan().SequenceEqual(b))
                {
                    throw new InvalidOperationException($"equal={equal} but encode(a)={Shown(a)} and encode(b)={Shown(b)}");
                }
            },
            iter: 100_000,
            print: parts => string.Join(" | ", parts.Select(p => p.ToString())));
    }

    [Fact]
    public void Encode_SameTupleThroughTheGeneratedKey_IsWhatTheWriterWrites()
    {
        // The generated typed key writes its arguments through the same writer, in order, skipping ignored positions.
        var key = new ArgsKey<string, int, double>("a,b", 7, -0d);
        Assert.Equal("a%2Cb,7,0", KeyTextWriter.Encode(in key, 0b111, KeyJson.Text));
        Assert.Equal("a%2Cb,0", KeyTextWriter.Encode(in key, 0b101, KeyJson.Text));
    }

    /// <summary>A near miss: one character of <paramref name="text"/> replaced by, or followed by, a token.</summary>
    private static Gen<string?> Mutated(string text)
        => Gen.Select(Gen.Int[0, Math.Max(0, text.Length - 1)], Gen.OneOf(Tokens), Gen.Bool, (at, token, replace) =>
            (string?)(text.Length == 0 ? token : text[..at] + token + text[(replace ? at + 1 : at)..]));

    [Fact]
    public void Encode_LoneSurrogates_AreEscapedSoDifferentStringsNeverShareAKey()
    {
        // Found by the fuzz test: written raw, every lone surrogate became U+FFFD in the UTF-8 key Redis stores.
        var high = KeyTextWriter.Encode(new ArgsKey<string>("a\uD800"), 1, KeyJson.Text);
        var low = KeyTextWriter.Encode(new ArgsKey<string>("a\uDC00"), 1, KeyJson.Text);
        Assert.Equal("a%uD800", high);
        Assert.Equal("a%uDC00", low);
        Assert.Equal("%uDBFF", KeyTextWriter.Encode(new ArgsKey<char>('\uDBFF'), 1, KeyJson.Text));
        Assert.Equal("a😀", KeyTextWriter.Encode(new ArgsKey<string>("a😀"), 1, KeyJson.Text)); // a valid pair stays as it is
    }

    [Fact]
    public void Encode_RecordsWithNumbersAndDates_EqualRecordsShareTextAndNaNIsWritten()
    {
        // Found by the fuzz test: records went through plain System.Text.Json, which wrote -0, 1.00m and a date's Kind
        // (equal values, different keys) and threw for NaN (the call failed).
        var utc = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var a = KeyTextWriter.Encode(new ArgsKey<Measure>(new Measure(0d, 1.0m, utc)), 1, KeyJson.Text);
        var b = KeyTextWriter.Encode(new ArgsKey<Measure>(new Measure(-0d, 1.00m, DateTime.SpecifyKind(utc, DateTimeKind.Unspecified))), 1, KeyJson.Text);
        Assert.Equal(a, b);
        Assert.Equal("%7B\"Score\":0%2C\"Amount\":1%2C\"When\":\"2026-01-01T00:00:00.0000000\"%7D", a);
        Assert.Contains("NaN", KeyTextWriter.Encode(new ArgsKey<Measure>(new Measure(double.NaN, 0m, utc)), 1, KeyJson.Text), StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_RecordsWithLoneSurrogatesInStrings_NeverShareAKey()
    {
        // JSON alone writes every lone surrogate as U+FFFD; found by the fuzz test above.
        var a = KeyTextWriter.Encode(new ArgsKey<Rec>(new Rec("a\uD800", 1)), 1, KeyJson.Text);
        var b = KeyTextWriter.Encode(new ArgsKey<Rec>(new Rec("a\uDC00", 1)), 1, KeyJson.Text);
        var c = KeyTextWriter.Encode(new ArgsKey<Rec>(new Rec("a\uFFFD", 1)), 1, KeyJson.Text);

        Assert.Equal(3, new[] { a, b, c }.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(a, KeyTextWriter.Encode(new ArgsKey<Rec>(new Rec("a\uD800", 1)), 1, KeyJson.Text));
    }

    private static byte[] Encode(Part[] parts, bool second)
    {
        var writer = new KeyTextWriter(-1, KeyJson.Text);
        for (var i = 0; i < parts.Length; i++)
        {
            (second ? parts[i].WriteB : parts[i].WriteA)(writer, i);
        }

        return Encoding.UTF8.GetBytes(writer.ToString());
    }

    private static string Shown(byte[] utf8) => Encoding.UTF8.GetString(utf8);

    private static decimal ScaleUp(decimal value)
    {
        // The same number with more trailing zeros, when the scale allows it.
        var scale = value.Scale;
        return scale >= 26 ? value : value * 1.00m;
    }

    private static Gen<Part> PairOf<T>(Gen<T> values, Func<T, Gen<T>> equalVariant, IEqualityComparer<T>? comparer = null)
    {
        comparer ??= EqualityComparer<T>.Default;
        return values.SelectMany(a => Gen.Frequency((3, equalVariant(a)), (2, values)).Select(b => new Part(
            typeof(T).Name,
            Show(a),
            Show(b),
            comparer.Equals(a, b),
            (w, i) => w.Write(i, a),
            (w, i) => w.Write(i, b))));
    }

    private static string Show(object? value) => value switch
    {
        null => "null",
        string s => "\"" + string.Concat(s.Select(c => c < 32 || c > 126 ? $"\\u{(int)c:X4}" : c.ToString())) + "\"",
        byte[] bytes => "[" + string.Join(",", bytes) + "]",
        double d => d.ToString("R", CultureInfo.InvariantCulture) + (double.IsNegative(d) ? "(neg)" : string.Empty),
        DateTime t => t.ToString("O", CultureInfo.InvariantCulture) + "/" + t.Kind,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    public enum Color
    {
        Red,
        Green,
        Blue,
    }

    [Flags]
    public enum Flags : byte
    {
        None = 0,
        A = 1,
        B = 2,
    }

    public sealed record Rec(string? Name, int Id);

    public sealed record Measure(double Score, decimal Amount, DateTime When);

    /// <summary>Two subtypes whose members have the same names: only the runtime type tells them apart.</summary>
    public abstract record Shape;

    public sealed record Circle(int Size) : Shape;

    public sealed record Square(int Size) : Shape;

    /// <summary>Members declared as a base type and as object: 1, 1L, 1.0 and "1" are four different values.</summary>
    public sealed record Tagged(Shape Shape, object? Value);

    /// <summary>Public fields only (System.Text.Json writes none of them by default).</summary>
    public struct FieldPoint : IEquatable<FieldPoint>
    {
        public int X;
        public int Y;

        public readonly bool Equals(FieldPoint other) => X == other.X && Y == other.Y;

        public override readonly bool Equals(object? obj) => obj is FieldPoint other && Equals(other);

        public override readonly int GetHashCode() => HashCode.Combine(X, Y);

        public override readonly string ToString() => $"({X}, {Y})";
    }

    private sealed record Part(string Type, string A, string B, bool Equal, Action<KeyTextWriter, int> WriteA, Action<KeyTextWriter, int> WriteB)
    {
        public override string ToString() => $"{Type}: {A} vs {B} ({(Equal ? "equal" : "different")})";
    }

    private sealed class ContentEquality : IEqualityComparer<byte[]?>
    {
        public static readonly ContentEquality Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x is null ? y is null : y is not null && x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[]? obj) => obj?.Length ?? 0;
    }
}
