using CachifyNet.Internal;
using CachifyNet.Redis.Internal;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// Arguments that are not built-in types (records, structs, tuples, classes, collections, interfaces) on Redis: two
/// arguments their type calls different never share a key, equal ones do, and a type whose state the key would not
/// show is refused with the fix.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class ObjectArgumentKeyTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    [RedisFact]
    public void ValueTuple_DifferentTuples_NeverShareAnEntry()
    {
        var calls = 0;
        var f = Cachify.Wrap(((int A, int B) p) => { calls++; return p.A + p.B; }).Named("tuple").NoSelf().Backend(Backend);

        Assert.Equal(3, f.Invoke((1, 2)));
        Assert.Equal(10, f.Invoke((5, 5)));
        Assert.Equal(3, f.Invoke((1, 2)));
        Assert.Equal(2, calls);
    }

    [RedisFact]
    public void ClassWithPublicFields_DifferentValues_NeverShareAnEntry()
    {
        var f = Cachify.Wrap((FieldPoint p) => (p.X * 100) + p.Y).Named("fields").NoSelf().Backend(Backend);

        Assert.Equal(102, f.Invoke(new FieldPoint { X = 1, Y = 2 }));
        Assert.Equal(304, f.Invoke(new FieldPoint { X = 3, Y = 4 }));
    }

    [RedisFact]
    public void AbstractParameter_SubtypesWithTheSameMembers_NeverShareAnEntry()
    {
        var f = Cachify.Wrap((Shape s) => s switch { Circle c => 3 * c.Size * c.Size, Square q => q.Size * q.Size, _ => 0 }).Named("shape").NoSelf().Backend(Backend);

        Assert.Equal(3, f.Invoke(new Circle(1)));
        Assert.Equal(1, f.Invoke(new Square(1)));
    }

    [RedisFact]
    public void InterfaceParameterAndInterfaceMember_DifferentValues_NeverShareAnEntry()
    {
        var byQuery = Cachify.Wrap((IQuery q) => ((ByName)q).Name).Named("iface").NoSelf().Backend(Backend);
        var byRequest = Cachify.Wrap((Request r) => ((ByName)r.Query).Name).Named("member").NoSelf().Backend(Backend);

        Assert.Equal("ann", byQuery.Invoke(new ByName("ann")));
        Assert.Equal("bob", byQuery.Invoke(new ByName("bob")));
        Assert.Equal("ann", byRequest.Invoke(new Request(new ByName("ann"))));
        Assert.Equal("bob", byRequest.Invoke(new Request(new ByName("bob"))));
    }

    [RedisFact]
    public void ObjectMembers_IntLongDoubleAndString_NeverShareAnEntry()
    {
        var f = Cachify.Wrap((Boxed b) => b.Value?.GetType().Name ?? "null").Named("boxed").NoSelf().Backend(Backend);

        Assert.Equal("Int32", f.Invoke(new Boxed(1)));
        Assert.Equal("Int64", f.Invoke(new Boxed(1L)));
        Assert.Equal("Double", f.Invoke(new Boxed(1.0)));
        Assert.Equal("String", f.Invoke(new Boxed("1")));
        Assert.Equal("null", f.Invoke(new Boxed(null)));
    }

    [RedisFact]
    public void CollectionsOfBaseTypes_ElementsKeepTheirRuntimeType()
    {
        var f = Cachify.Wrap((Shape[] shapes) => string.Join(",", shapes.Select(s => s.GetType().Name))).Named("shapes").NoSelf().Backend(Backend);
        var g = Cachify.Wrap((Dictionary<string, object> bag) => bag["n"].GetType().Name).Named("bag").NoSelf().Backend(Backend);

        Assert.Equal("Circle,Square", f.Invoke([new Circle(1), new Square(1)]));
        Assert.Equal("Square,Circle", f.Invoke([new Square(1), new Circle(1)]));
        Assert.Equal("Int32", g.Invoke(new() { ["n"] = 1 }));
        Assert.Equal("Int64", g.Invoke(new() { ["n"] = 1L }));
    }

    [RedisFact]
    public void EqualRecords_ShareOneEntry()
    {
        var calls = 0;
        var f = Cachify.Wrap((Request r) => { calls++; return ((ByName)r.Query).Name; }).Named("equal").NoSelf().Backend(Backend);

        f.Invoke(new Request(new ByName("ann")));
        f.Invoke(new Request(new ByName("ann")));

        Assert.Equal(1, calls);
        Assert.Single(ValueKeys());
    }

    [RedisFact]
    public void Bind_TypeWithStateNoMemberShows_ThrowsNamingTheFieldAndTheFix()
    {
        var f = Cachify.Wrap((Opaque query) => query.ToString()).Named("opaque");

        var error = Assert.Throws<ArgumentException>(() => f.Backend(Backend).BindNow());
        Assert.Contains("'query'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'_id'", error.Message, StringComparison.Ordinal);
        Assert.Contains(".KeyBy(", error.Message, StringComparison.Ordinal);
        Assert.Equal("3", f.KeyBy(q => q.ToString()).Backend(Backend).Invoke(new Opaque(3)));
    }

    [RedisFact]
    public void Bind_StateBehindAPropertyOfItsName_IsAccepted()
    {
        var f = Cachify.Wrap((Money m) => m.Amount * 2).Named("money").NoSelf().Backend(Backend);

        Assert.Equal(4m, f.Invoke(new Money(2m)));
        Assert.Equal(6m, f.Invoke(new Money(3m)));
    }

    [RedisFact]
    public void Bind_StateInsideAMemberType_IsFoundThere()
    {
        var error = Assert.Throws<ArgumentException>(() => Cachify.Wrap((Holder h) => 1).Named("holder").Backend(Backend).BindNow());
        Assert.Contains("'h'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'_id'", error.Message, StringComparison.Ordinal);
    }

    [RedisFact]
    public void Bind_CollectionWithStateOfItsOwn_IsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => Cachify.Wrap((NamedList list) => list.Count).Named("named").Backend(Backend).BindNow());
        Assert.Contains("'Name'", error.Message, StringComparison.Ordinal);
    }

    [RedisFact]
    public void Bind_CollectionWithACollectionMemberBesidesItsItems_IsRefused()
    {
        // The JSON of a collection is its items: pages that differ in Warnings, or queries that differ in their sort
        // order, would share a key.
        var error = Assert.Throws<ArgumentException>(() => Cachify.Wrap((Page page) => page.Count).Named("page").Backend(Backend).BindNow());
        Assert.Contains("Warnings", error.Message, StringComparison.Ordinal);
        Assert.False(KeyJson.IsKeyable(typeof(SortedQuery), out var reason));
        Assert.Contains("'_sortBy'", reason, StringComparison.Ordinal);

        // One collection field holding the items is the collection itself.
        var f = Cachify.Wrap((ItemList items) => items.Sum()).Named("items").NoSelf().Backend(Backend);
        Assert.Equal(3, f.Invoke(new ItemList([1, 2])));
        Assert.Equal("[1,2]", KeyJson.Text(new ItemList([1, 2]), typeof(ItemList)));
    }

    [RedisFact]
    public void Bind_TypesJsonCannotWalkAsCollections_AreRefusedNotCrashingAtTheCall()
    {
        // Memory<T> has a JSON list contract but is no IEnumerable; System.Text.Json cannot write int[,].
        Assert.Throws<ArgumentException>(() => Cachify.Wrap((ReadOnlyMemory<int> m) => m.Length).Named("memory").Backend(Backend).BindNow());
        Assert.Throws<ArgumentException>(() => Cachify.Wrap((Memory<int> m) => m.Length).Named("memory2").Backend(Backend).BindNow());
        Assert.Throws<ArgumentException>(() => Cachify.Wrap((int[,] grid) => grid.Length).Named("grid").Backend(Backend).BindNow());
        Assert.Throws<ArgumentException>(() => KeyJson.Text(new Boxed(new ReadOnlyMemory<int>([1])), typeof(Boxed)));
        Assert.Throws<ArgumentException>(() => KeyJson.Text(new Boxed(new int[1, 1]), typeof(Boxed)));
    }

    [RedisFact]
    public void Invoke_RuntimeSubtypeWithHiddenState_ThrowsAndLeavesNothingBehind()
    {
        var calls = 0;
        var f = Cachify.Wrap((Shape s) => { calls++; return 1; }).Named("hidden").NoSelf().Backend(Backend);

        var error = Assert.Throws<ArgumentException>(() => f.Invoke(new SecretShape(7)));
        Assert.Contains("'_secret'", error.Message, StringComparison.Ordinal);
        Assert.Contains(".KeyBy(", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, calls);
        Assert.Empty(Keys());
        Assert.Equal(0, Keyspace(f.CurrentBinding).Locks.Count);
    }

    [RedisFact]
    public async Task Invoke_CyclicArgument_ThrowsClearErrorAndLeavesNothingBehind()
    {
        var calls = 0;
        var f = Cachify.Wrap((Node n) => { calls++; return Task.FromResult(n.Value); }).Named("cycle").NoSelf().Backend(Backend);
        var node = new Node { Value = 1 };
        node.Next = node;

        var error = await Assert.ThrowsAsync<ArgumentException>(() => f.Invoke(node));
        Assert.Contains("64 levels", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, calls);
        Assert.Empty(Keys());
        Assert.Equal(1, await f.Invoke(new Node { Value = 1 }));
    }

    [RedisFact]
    public void Text_TagsOnlyWhereTheRuntimeTypeDiffers()
    {
        Assert.Equal("{\"Size\":1}", KeyJson.Text(new Circle(1), typeof(Circle)));
        Assert.Equal("[<,\"CachifyNet.Redis.Tests.ObjectArgumentKeyTests+Circle\",{\"Size\":1}]", KeyJson.Text(new Circle(1), typeof(Shape)));
        Assert.Equal("{\"Item1\":1,\"Item2\":\"a\"}", KeyJson.Text((1, "a"), typeof((int, string))));
    }

    public abstract record Shape;

    public sealed record Circle(int Size) : Shape;

    public sealed record Square(int Size) : Shape;

    public interface IQuery;

    public sealed record ByName(string Name) : IQuery;

    public sealed record Request(IQuery Query);

    public sealed record Boxed(object? Value);

    public sealed class FieldPoint
    {
        public int X;
        public int Y;
    }

    public sealed class Opaque(int id)
    {
        private readonly int _id = id;

        public override string ToString() => _id.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public sealed class Money(decimal amount)
    {
        private readonly decimal _amount = amount;

        public decimal Amount => _amount;
    }

    public sealed record Holder(Opaque Inner);

    public sealed class NamedList : List<int>
    {
        public string Name = string.Empty;
    }

    public sealed record SecretShape : Shape
    {
        private readonly int _secret;

        public SecretShape(int secret) => _secret = secret;

        public int Twice() => _secret * 2;
    }

    public sealed class Page : List<int>
    {
        public List<string> Warnings { get; } = [];
    }

    public sealed class SortedQuery(IEnumerable<int> items, IEnumerable<string> sortBy) : IEnumerable<int>
    {
        private readonly List<int> _items = [.. items];
        private readonly List<string> _sortBy = [.. sortBy];

        public IEnumerator<int> GetEnumerator() => _items.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => string.Join(",", _sortBy);
    }

    public sealed class ItemList(IEnumerable<int> items) : IEnumerable<int>
    {
        private readonly List<int> _items = [.. items];

        public IEnumerator<int> GetEnumerator() => _items.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    public sealed class Node
    {
        public int Value { get; set; }

        public Node? Next { get; set; }
    }
}
