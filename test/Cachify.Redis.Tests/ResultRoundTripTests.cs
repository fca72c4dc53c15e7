using System.Collections.Immutable;
using System.Text.Json.Serialization;
using CsCheck;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// Results round-trip or are refused: one matrix of result types, the same body on the memory backend and on a real
/// Redis. Each case is called once, then again through a second backend instance (on Redis another connection and
/// backend: another process), and the second answer must equal what the function returned, runtime types included.
/// Types that would lose state are refused when the wrapper is bound, naming the member.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class ResultRoundTripTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    private static readonly DateTimeOffset At = new(2026, 3, 4, 5, 6, 7, 890, TimeSpan.FromHours(5.5));

    private static readonly Case[] Cases =
    [
        new Case<(int, string)>("value tuple", x => (x, "s" + x)),
        new Case<(int Id, string Name)>("named value tuple", x => (x, "n" + x)),
        new Case<List<(int, string)>>("value tuples in a list", x => [(x, "a"), (x + 1, "b")]),
        new Case<Dictionary<string, (long, bool)>>("value tuples in a dictionary", x => new() { ["a"] = (x, true) }),
        new Case<WithTuple>("value tuple in a record", x => new WithTuple(x, ("in", 2.5))),
        new Case<(int, int, int, int, int, int, int, int, int)>("nine-element value tuple", x => (x, 2, 3, 4, 5, 6, 7, 8, 9)),
        new Case<FieldStruct>("struct with public fields only", x => new FieldStruct { X = x, Name = "f" }),
        new Case<FieldClass>("class with public fields only", x => new FieldClass { X = x, Tags = ["t"] }),
        new Case<PrivateSet>("private setters", x => PrivateSet.Create(x, "owner")),
        new Case<PrivateSetStruct>("struct with private setters", x => PrivateSetStruct.Create(x)),
        new Case<WithEvent>("class with an event", x => new WithEvent { Id = x }),
        new Case<InitOnly>("init-only properties", x => new InitOnly { Id = x, Name = "i" }),
        new Case<Positional>("positional record", x => new Positional(x, "p", [1, 2])),
        new Case<CtorBound>("constructor-bound get-only properties", x => new CtorBound(x, "c")),
        new Case<PrimaryCtor>("class with a primary constructor", x => new PrimaryCtor(x)),
        new Case<ReadonlyStruct>("readonly record struct", x => new ReadonlyStruct(x, 1.5)),
        new Case<Tuple<int, string>>("System.Tuple", x => Tuple.Create(x, "t")),
        new Case<Immutables>("immutable collections", x => new Immutables([x, 2], ["a"], ImmutableDictionary<string, int>.Empty.Add("k", x))),
        new Case<NonStringKeys>("dictionaries with non-string keys", x => new NonStringKeys(new() { [x] = "i" }, new() { [Guid.Parse("6f9619ff-8b86-d011-b42d-00cf4fc964ff")] = 1.50m }, new() { [DayOfWeek.Friday] = At })),
        new Case<DateTimeOffset>("DateTimeOffset with its offset", x => At.AddDays(x)),
        new Case<DateTime>("DateTime with its Kind", x => new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc).AddDays(x)),
        new Case<decimal>("decimal with its scale", x => 1.50m + x),
        new Case<Numbers>("double NaN, infinities and -0", x => new Numbers(double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0d, float.NaN, 0.1 * x)),
        new Case<string?>("null", _ => null),
        new Case<int?>("null int?", _ => null),
        new Case<int[][]>("jagged array", x => [[x], [1, 2]]),
        new Case<List<KeyValuePair<string, int>>>("key-value pairs", x => [new("a", x)]),
        new Case<HashSet<string>>("set", x => ["a", "b" + x]),
        new Case<Animal>("declared base admitting the runtime type", x => new Dog(x, "rex")),
        new Case<IPet>("declared interface admitting the runtime type", x => new Cat("tom", x)),
        new Case<Zoo>("admitted runtime types nested in a list", x => new Zoo([new Dog(x, "a"), new Cat("b", 2), new Animal(3)])),
        new Case<Shape>("non-sealed class holding itself", x => new Shape(x)),
        new Case<List<Shape>?>("list of non-sealed classes", x => [new Shape(x), new Shape(2)]),

        // Runtime types the declared type would not read back: returned to the caller, not stored, logged once.
        new Case<Shape>("declared Shape holding a Circle", x => new Circle(x, 2), Stored: false),
        new Case<Drawing>("nested Shape member holding a Circle", x => new Drawing("d", new Circle(x, 2)), Stored: false),
        new Case<Dictionary<string, Shape>>("dictionary value holding a Circle", x => new() { ["s"] = new Shape(1), ["c"] = new Circle(x, 2) }, Stored: false),
        new Case<Zoo>("list element of an admitting base holding a type it does not admit", x => new Zoo([new Dog(x, "a"), new Puppy(1, "p")]), Stored: false),
        new Case<IEnumerable<int>>("IEnumerable<int> holding an array", x => new[] { x, 2 }, Stored: false),
        new Case<IReadOnlyList<int>>("IReadOnlyList<int> holding a List<int>", x => new List<int> { x, 2 }),

        // Invalid UTF-16 that JSON would carry as U+FFFD: refused by the serializer, so returned and not stored.
        new Case<User>("string with a lone surrogate", x => new User(x, "a\uD800"), Stored: false),
        new Case<string>("string with a valid surrogate pair", x => "a😀" + x),
    ];

    private static readonly Refusal[] Refusals =
    [
        new Refusal<object>("object", x => new User(x, "u"), "declared as object"),
        new Refusal<IShapeless>("interface without derived types", x => new Shapeless(), "IShapeless"),
        new Refusal<GetOnly>("get-only property without a constructor parameter", x => new GetOnly(x), "Id"),
        new Refusal<HiddenState>("private field no member shows", x => new HiddenState(x), "_secret"),
        new Refusal<ReadonlyFields>("struct with readonly fields", x => new ReadonlyFields(x), "X"),
        new Refusal<GetOnlyList>("get-only collection property", x => new GetOnlyList(), "Items"),
        new Refusal<Stack<int>>("Stack", x => new Stack<int>([x, 2]), "reverse order"),
        new Refusal<Dictionary<User, int>>("dictionary with record keys", x => new() { [new User(x, "k")] = 1 }, "property names"),
        new Refusal<NoDiscriminator>("derived type without a discriminator", x => new NoDiscriminator(), "discriminator"),
        new Refusal<WithObject>("object member", x => new WithObject(x), "Payload"),
        new Refusal<Tagged>("collection with state of its own", x => new Tagged { "a" }, "Owner"),
    ];

    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        foreach (var c in Cases)
        {
            data.Add(c.Name, "memory");
            data.Add(c.Name, "redis");
        }

        return data;
    }

    public static TheoryData<string> RefusedTypes() => [.. Refusals.Select(r => r.Name)];

    [RedisTheory]
    [MemberData(nameof(Matrix))]
    public void Invoke_FromASecondBackendInstance_EqualsWhatTheFunctionReturned(string name, string backend)
        => Cases.Single(c => c.Name == name).Run(this, backend);

    [RedisTheory]
    [MemberData(nameof(RefusedTypes))]
    public void Backend_ResultTypeThatWouldLoseState_IsRefusedAtBindNamingTheMember(string name)
        => Refusals.Single(r => r.Name == name).Run(this);

    [RedisFact]
    public async Task InvokeAsync_ValueTupleFromASecondBackendInstance_EqualsWhatTheFunctionReturned()
    {
        var calls = 0;
        Func<int, Task<(int Id, string Name)>> function = async x =>
        {
            await Task.Yield();
            Interlocked.Increment(ref calls);
            return (x, "s" + x);
        };

        var returned = await Cachify.Wrap(function).Named("async").NoSelf().Backend(Backend).Invoke(1);
        var again = await Cachify.Wrap(function).Named("async").NoSelf().Backend(NewBackend(connection: NewConnection())).Invoke(1);

        Assert.Equal((1, "s1"), returned);
        Assert.Equal((1, "s1"), again);
        Assert.Equal(1, calls);
    }

    [RedisFact]
    public async Task InvokeAsync_ObjectResult_IsRefusedAtBind()
    {
        var error = Assert.Throws<ArgumentException>(() => Cachify.Wrap((int x) => Task.FromResult((object)new User(x, "u"))).Named("async-object").NoSelf().Backend(Backend).BindNow());
        Assert.Contains("declared as object", error.Message, StringComparison.Ordinal);

        using var memory = new MemoryCacheBackend();
        var user = new User(1, "u");
        var onMemory = Cachify.Wrap((int x) => Task.FromResult((object)user)).Named("async-object").NoSelf().Backend(memory);
        Assert.Same(user, await onMemory.Invoke(1));
    }

    [RedisFact]
    public void Invoke_RuntimeTypeNotAdmitted_ReturnedUnstoredAndLoggedOnce()
    {
        var logs = new ListLoggerFactory();
        var backend = NewBackend(new RedisCacheOptions { LoggerFactory = logs });
        var calls = 0;
        var f = Cachify.Wrap((int x) => { calls++; return (Shape)new Circle(x, 7); }).Named("circle").NoSelf().Backend(backend);

        Assert.IsType<Circle>(f.Invoke(1));
        Assert.IsType<Circle>(f.Invoke(1));
        Assert.IsType<Circle>(f.Invoke(2));

        Assert.Equal(3, calls);
        Assert.Equal([$"{{{Prefix}:g:circle}}"], Keys()); // no value, no lock left: only the function's generation
        var logged = Assert.Single(logs.Entries, e => e.EventId == 3005); // StoreLog.ResultNotFaithful
        Assert.Contains("Circle", logged.Message, StringComparison.Ordinal);
    }

    [RedisFact]
    public void Invoke_CustomSerializer_IsNotAnalysed()
    {
        var backend = NewBackend(new RedisCacheOptions { Serializer = new ObjectAsString() });
        var f = Cachify.Wrap((int x) => (object)("v" + x)).Named("custom").NoSelf().Backend(backend);

        Assert.Equal("v1", f.Invoke(1));
        Assert.Equal("v1", Cachify.Wrap((int x) => (object)"other").Named("custom").NoSelf().Backend(NewBackend(new RedisCacheOptions { Serializer = new ObjectAsString() }, NewConnection())).Invoke(1));
    }

    [RedisFact]
    public void Invoke_UserJsonOptions_KeepNamingAndStillRoundTrip()
    {
        var options = new RedisCacheOptions { Serializer = new SystemTextJsonCacheSerializer(new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web)) };
        var f = Cachify.Wrap((int x) => PrivateSet.Create(x, "o")).Named("web").NoSelf().Backend(NewBackend(options));
        var returned = f.Invoke(4);

        var raw = Keys().Single(k => k.Contains(":v:web:", StringComparison.Ordinal) && !k.EndsWith(":lock", StringComparison.Ordinal));
        Assert.Contains("\"id\":4", System.Text.Encoding.UTF8.GetString(((byte[])Db.StringGet(raw)!)[CachifyNet.Internal.Stores.StoreEnvelope.HeaderSize..]), StringComparison.Ordinal);
        var again = Cachify.Wrap((int x) => PrivateSet.Create(0, "")).Named("web").NoSelf().Backend(NewBackend(options, NewConnection())).Invoke(4);
        DeepEqual.Assert(returned, again);
    }

    /// <summary>For generated values of the supported shapes, a value written by one backend and read by a second one equals it.</summary>
    [RedisFact]
    public void Invoke_GeneratedValues_ReadBackBySecondBackendEqualTheOriginal()
    {
        var writerBackend = Backend;
        var readerBackend = NewBackend(connection: NewConnection());
        Sample current = null!;
        var writer = Cachify.Wrap((int n) => current).Named("prop").NoSelf().Backend(writerBackend);
        var reader = Cachify.Wrap((int n) => Missed()).Named("prop").NoSelf().Backend(readerBackend);
        var n = 0;

        SampleGen.Sample(
            value =>
            {
                current = value;
                n++;
                var returned = writer.Invoke(n);
                DeepEqual.Assert(value, returned);
                DeepEqual.Assert(value, reader.Invoke(n));
            },
            iter: 300,
            threads: 1);
    }

    private static Sample Missed() => throw new InvalidOperationException("The second backend missed: the value was not stored.");

    private static readonly Gen<double> AnyDouble = Gen.OneOf<double>(
        Gen.OneOf(0d, -0d, 0.1, 1e-300, double.MaxValue, double.MinValue, double.Epsilon, double.NaN, double.PositiveInfinity, double.NegativeInfinity),
        Gen.Double);

    private static readonly Gen<decimal> AnyDecimal = Gen.OneOf<decimal>(Gen.OneOf(0m, 1.0m, 1.00m, -0.10m, decimal.MaxValue, decimal.MinValue, 1e-28m), Gen.Decimal);

    private static readonly Gen<DateTimeOffset> AnyInstant = Gen.Select(
        Gen.Long[new DateTime(1990, 1, 1).Ticks, new DateTime(2100, 1, 1).Ticks], Gen.Int[-14 * 4, 14 * 4], (t, q) => new DateTimeOffset(t, TimeSpan.FromMinutes(q * 15)));

    private static readonly Gen<string?> AnyText = Gen.Frequency((1, Gen.Const((string?)null)), (6, Gen.String.Select(s => (string?)s)));

    private static readonly Gen<Animal> AnyAnimal = Gen.OneOf<Animal>(
        Gen.Int.Select(i => new Animal(i)),
        Gen.Select(Gen.Int, Gen.String, (i, s) => (Animal)new Dog(i, s)));

    private static readonly Gen<Sample> SampleGen = Gen.Select(
        Gen.Select(Gen.Int, AnyText, AnyDouble, AnyDecimal, AnyInstant, (id, name, score, price, at) => (id, name, score, price, at)),
        Gen.Select(Gen.Long, Gen.Bool, (l, b) => (l, b)).List[0, 4],
        Gen.Dictionary(Gen.Int, AnyText)[0, 4],
        Gen.Select(Gen.Int, Gen.String, (x, s) => new FieldStruct { X = x, Name = s }),
        Gen.Select(Gen.Int, Gen.String, PrivateSet.Create),
        Gen.Guid.Array[0, 3].Select(ImmutableArray.Create),
        AnyAnimal.List[0, 3],
        (head, pairs, byId, point, tag, ids, animals) => new Sample(head.id, head.name, head.score, head.price, head.at, pairs, byId, point, tag, ids, animals));

    private abstract record Case(string Name, bool Stored = true)
    {
        public abstract void Run(ResultRoundTripTests test, string backend);
    }

    private sealed record Case<T>(string Name, Func<int, T> Make, bool Stored = true) : Case(Name, Stored)
    {
        public override void Run(ResultRoundTripTests test, string backend)
        {
            var calls = 0;
            Func<int, T> function = x =>
            {
                Interlocked.Increment(ref calls);
                return Make(x);
            };

            using var memory = new MemoryCacheBackend();
            ICacheBackend first = backend == "memory" ? memory : test.Backend;
            ICacheBackend second = backend == "memory" ? memory : test.NewBackend(connection: test.NewConnection());

            var returned = Cachify.Wrap(function).Named("rt").NoSelf().Backend(first).Invoke(3);
            var again = Cachify.Wrap(function).Named("rt").NoSelf().Backend(second).Invoke(3);

            DeepEqual.Assert(Make(3), returned);
            DeepEqual.Assert(returned, again);
            Assert.Equal(backend == "memory" || Stored ? 1 : 2, calls);
        }
    }

    private abstract record Refusal(string Name)
    {
        public abstract void Run(ResultRoundTripTests test);
    }

    private sealed record Refusal<T>(string Name, Func<int, T> Make, string Named) : Refusal(Name)
    {
        public override void Run(ResultRoundTripTests test)
        {
            var error = Assert.Throws<ArgumentException>(() => Cachify.Wrap(Make).Named("refused").NoSelf().Backend(test.Backend).BindNow());
            Assert.Contains(typeof(T).Name.Split('`')[0], error.Message, StringComparison.Ordinal);
            Assert.Contains(Named, error.Message, StringComparison.Ordinal);
            Assert.Contains("memory backend", error.Message, StringComparison.Ordinal);

            // The memory backend keeps the instance itself: it accepts every type.
            using var memory = new MemoryCacheBackend();
            var f = Cachify.Wrap(Make).Named("refused").NoSelf().Backend(memory);
            Assert.True(ReferenceEquals(f.Invoke(1), f.Invoke(1)) || typeof(T).IsValueType);
        }
    }

    private sealed class ObjectAsString : ICacheSerializer
    {
        public void Serialize<T>(T value, System.Buffers.IBufferWriter<byte> destination)
            => System.Buffers.BuffersExtensions.Write(destination, System.Text.Encoding.UTF8.GetBytes((string)(object)value!));

        public T Deserialize<T>(ReadOnlySpan<byte> source) => (T)(object)System.Text.Encoding.UTF8.GetString(source);
    }

    public sealed record Sample(int Id, string? Name, double Score, decimal Price, DateTimeOffset At, List<(long, bool)> Pairs, Dictionary<int, string?> ById, FieldStruct Point, PrivateSet Tag, ImmutableArray<Guid> Ids, List<Animal> Animals);

    public sealed record User(int Id, string Name);

    public sealed record WithTuple(int Id, (string A, double B) Inner);

    public struct FieldStruct
    {
        public int X;
        public string? Name;
    }

    public sealed class FieldClass
    {
        public int X;
        public List<string> Tags = [];
    }

    public sealed class PrivateSet
    {
        public int Id { get; private set; }

        public string Owner { get; private set; } = "";

        public static PrivateSet Create(int id, string owner) => new() { Id = id, Owner = owner };
    }

    public struct PrivateSetStruct
    {
        public int Id { get; private set; }

        public static PrivateSetStruct Create(int id) => new() { Id = id };
    }

    public sealed class WithEvent
    {
        public event EventHandler? Changed;

        public int Id { get; set; }

        public void Raise() => Changed?.Invoke(this, EventArgs.Empty);
    }

    public sealed class InitOnly
    {
        public int Id { get; init; }

        public string? Name { get; init; }
    }

    public sealed record Positional(int Id, string Name, int[] Values);

    public sealed class CtorBound(int id, string name)
    {
        public int Id { get; } = id;

        public string Name { get; } = name;
    }

    public sealed class PrimaryCtor(int value)
    {
        public int Value => value;
    }

    public readonly record struct ReadonlyStruct(int A, double B);

    public sealed record Immutables(ImmutableArray<int> Numbers, ImmutableList<string> Names, ImmutableDictionary<string, int> ByName);

    public sealed record NonStringKeys(Dictionary<int, string> ByInt, Dictionary<Guid, decimal> ByGuid, SortedDictionary<DayOfWeek, DateTimeOffset> ByDay);

    public sealed record Numbers(double NaN, double Up, double Down, double NegativeZero, float FloatNaN, double Tenth);

    [JsonDerivedType(typeof(Animal), "animal")]
    [JsonDerivedType(typeof(Dog), "dog")]
    [JsonDerivedType(typeof(Cat), "cat")]
    public record Animal(int Legs);

    public record Dog(int Legs, string Name) : Animal(Legs);

    public sealed record Puppy(int Legs, string Name) : Dog(Legs, Name);

    [JsonDerivedType(typeof(Cat), "cat")]
    public interface IPet
    {
        string Name { get; }
    }

    public sealed record Cat(string Name, int Lives) : Animal(4), IPet;

    public sealed record Zoo(List<Animal> Animals);

    public class Shape
    {
        public Shape(int size) => Size = size;

        public int Size { get; }
    }

    public sealed class Circle(int size, int radius) : Shape(size)
    {
        public int Radius { get; } = radius;
    }

    public sealed record Drawing(string Name, Shape Main);

    public interface IShapeless;

    public sealed class Shapeless : IShapeless;

    public sealed class GetOnly
    {
        public GetOnly()
        {
        }

        public GetOnly(int id) => Id = id;

        public int Id { get; }
    }

    public sealed class HiddenState(int secret)
    {
        private readonly int _secret = secret;

        public int Visible { get; set; }

        public int Reveal() => _secret;
    }

    public readonly struct ReadonlyFields(int x)
    {
        public readonly int X = x;
    }

    public sealed class GetOnlyList
    {
        public List<int> Items { get; } = [1];
    }

    [JsonDerivedType(typeof(Derived))]
    public class NoDiscriminator;

    public sealed class Derived : NoDiscriminator;

    public sealed record WithObject(object Payload);

    public sealed class Tagged : List<string>
    {
        public string Owner { get; set; } = "";
    }
}
