#!/usr/bin/perl
# Writes a MaxMind-format (.mmdb) test database with Debian's
# MaxMind::DB::Writer, in the layout of one of the free databases users
# have, so that netflowd's and netflow-analyze's lookups are checked against
# a file an independent writer made (and mmdblookup, an independent reader,
# reads back).
#
#   mkmmdb.pl LAYOUT OUT.mmdb < networks.json
#
# networks.json is a JSON array of objects: {"network": "10.0.0.0/8",
# "asn": 64500, "as_name": "...", "country": "DE"}; any of asn, as_name
# and country may be left out. Later (narrower) networks nest inside
# earlier ones. Strings are taken as Unicode text; a string given as
# {"bytes_hex": "..."} is written as raw bytes (invalid UTF-8 on purpose).
#
# LAYOUT is where the values go inside each record:
#   geolite2-asn      autonomous_system_number (uint32),
#                     autonomous_system_organization   (GeoLite2-ASN, DB-IP lite ASN)
#   geolite2-country  country.iso_code, country.names.en (GeoLite2-Country, DB-IP lite country)
#   ipinfo            asn ("AS64500"), as_name, country ("DE")  (IPinfo's free country_asn)
use strict;
use warnings;
use JSON::PP;
use MaxMind::DB::Writer::Tree;
use MaxMind::DB::Writer::Serializer;

my ($layout, $out) = @ARGV;
die "usage: mkmmdb.pl geolite2-asn|geolite2-country|ipinfo OUT.mmdb < networks.json\n"
    unless defined $out;

local $/;
my $spec = JSON::PP->new->utf8->decode(<STDIN>);

# Raw strings (invalid UTF-8 on purpose) go out as they are: the writer
# would refuse them (it encodes with FB_CROAK), and the point is to see
# what a reader does with a database that has them.
my %raw;
{
	no warnings 'redefine';
	my $encode = \&MaxMind::DB::Writer::Serializer::_encode_utf8_string;
	*MaxMind::DB::Writer::Serializer::_encode_utf8_string = sub {
		my ($self, $string) = @_;
		return $self->_simple_encode(utf8_string => $string)
		    if exists $raw{$string};
		return $encode->(@_);
	};
}

sub text {
	my ($v) = @_;
	return $v unless ref $v;
	my $bytes = pack('H*', $v->{bytes_hex});
	$raw{$bytes} = 1;
	return $bytes;
}

my (%types, $record);
if ($layout eq 'geolite2-asn') {
	%types = (autonomous_system_number => 'uint32',
	    autonomous_system_organization => 'utf8_string');
	$record = sub {
		my ($n) = @_;
		my %r;
		$r{autonomous_system_number} = $n->{asn} if defined $n->{asn};
		$r{autonomous_system_organization} = text($n->{as_name})
		    if defined $n->{as_name};
		return \%r;
	};
} elsif ($layout eq 'geolite2-country') {
	%types = (country => 'map', iso_code => 'utf8_string',
	    names => 'map', en => 'utf8_string');
	$record = sub {
		my ($n) = @_;
		return {} unless defined $n->{country};
		return { country => { iso_code => text($n->{country}),
		    names => { en => 'Country ' . text($n->{country}) } } };
	};
} elsif ($layout eq 'ipinfo') {
	%types = (asn => 'utf8_string', as_name => 'utf8_string',
	    country => 'utf8_string', as_domain => 'utf8_string');
	$record = sub {
		my ($n) = @_;
		my %r;
		$r{asn} = "AS$n->{asn}" if defined $n->{asn};
		$r{as_name} = text($n->{as_name}) if defined $n->{as_name};
		$r{country} = text($n->{country}) if defined $n->{country};
		return \%r;
	};
} else {
	die "mkmmdb.pl: unknown layout '$layout'\n";
}

my $tree = MaxMind::DB::Writer::Tree->new(
	ip_version => 6,
	record_size => 28,
	database_type => "netflowd-test-$layout",
	languages => ['en'],
	description => { en => 'netflowd test database' },
	map_key_type_callback => sub { $types{ $_[0] } },
	# ::ffff:0:0/96 and the other IPv4 aliases point at the IPv4 tree,
	# as in the published databases
	alias_ipv6_to_ipv4 => 1,
	remove_reserved_networks => 0,
	merge_strategy => 'none',
);
for my $n (@$spec) {
	$tree->insert_network($n->{network}, $record->($n));
}
open(my $fh, '>:raw', $out) or die "mkmmdb.pl: $out: $!\n";
$tree->write_tree($fh);
close($fh) or die "mkmmdb.pl: $out: $!\n";
