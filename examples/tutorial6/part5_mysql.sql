-- The tutorial's part 5 session on the bastion VM, statement by statement (its `help` and
-- `\q` left out). Run it with the real client through the cluster's endpoint:
--   MYSQL_PWD=Tutorial-pass562 faaslab db connect tcss562 -- --table --verbose < part5_mysql.sql
-- helloMySQL (part 6) needs the database TEST and the table mytable created here.
show databases;
create database TEST;
show databases;
use TEST;
CREATE TABLE mytable (name VARCHAR(40), col2 VARCHAR(40), col3 VARCHAR(40));
show tables;
describe mytable;
insert into mytable values ('fred','testcol2','testcol3');
select * from mytable;
